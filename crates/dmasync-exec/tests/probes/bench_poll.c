/* Cost of a trapped poll(): on a pipe with no dma-buf alive (the supervisor
 * answers CONTINUE without reading anything), on a pipe while a dma-buf is
 * alive (the pollfd array is read and each fd fetched, then CONTINUE), and
 * on a dma-buf (emulated, nothing pending, timeout 0), against getppid().
 * Prints wall and CPU time (this process plus its parent, the supervisor)
 * per call.
 *
 *   gcc -O2 bench_poll.c -o bench_poll && dmasync exec -- ./bench_poll 20000 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct dma_heap_allocation_data { uint64_t len; uint32_t fd; uint32_t fd_flags; uint64_t heap_flags; };
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0, struct dma_heap_allocation_data)

static void run(const char *what, int n, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	double t0 = now(), c0 = cpu(), t1, c1;
	int i;

	for (i = 0; i < n; i++) {
		if (fd < 0)
			getppid();
		else if (poll(&p, 1, 0) != 1) {
			perror(what);
			exit(1);
		}
	}
	t1 = now();
	c1 = cpu();
	printf("%s: %.0f ns/call wall, %.0f ns/call cpu\n", what, (t1 - t0) / n, (c1 - c0) / n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	struct dma_heap_allocation_data d = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC };
	int p[2], heap;

	if (pipe(p)) {
		perror("pipe");
		return 1;
	}
	run("getppid", n, -1);
	run("poll, no dma-buf alive", n, p[1]);
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d)) {
		perror("alloc");
		return 1;
	}
	run("poll of a pipe, a dma-buf alive", n, p[1]);
	run("poll of a dma-buf (emulated)", n, d.fd);
	return 0;
}
