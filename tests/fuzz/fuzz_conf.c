/* fuzz_conf.c: conf_load() on a mode 0600 temporary file of the input. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char path[] = "/tmp/latch-fuzz-conf-XXXXXX";
	char err[256];
	struct conf *c;
	int fd;

	if (len > 64 * 1024 || (fd = mkstemp(path)) == -1)
		return 0;
	if (fchmod(fd, 0600) == -1 ||
	    (len > 0 && write(fd, data, len) != (ssize_t)len)) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	c = conf_load(path, err, sizeof(err));
	conf_free(c);
	unlink(path);
	return 0;
}
