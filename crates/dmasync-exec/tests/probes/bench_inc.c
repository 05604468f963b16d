/* Cost of one notified ioctl round trip: SW_SYNC_IOC_INC in a loop, against
 * getppid() (never leaves the kernel). Prints, per call, the wall time and
 * the CPU time of this process plus its parent (the supervisor), which is
 * less sensitive to a loaded machine than the wall time.
 *
 *   gcc -O2 bench_inc.c -o bench_inc && dmasync exec -- ./bench_inc 20000 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	int tl = open("/sys/kernel/debug/sync/sw_sync", O_RDWR);
	uint32_t one = 1;
	double t0, t1, t2, c0, c1, c2;
	int i;

	if (tl < 0) {
		perror("open sw_sync");
		return 1;
	}
	c0 = cpu();
	t0 = now();
	for (i = 0; i < n; i++)
		getppid();
	t1 = now();
	c1 = cpu();
	for (i = 0; i < n; i++)
		if (ioctl(tl, SW_SYNC_IOC_INC, &one)) {
			perror("SW_SYNC_IOC_INC");
			return 1;
		}
	t2 = now();
	c2 = cpu();
	printf("getppid: %.0f ns/call wall, %.0f ns/call cpu; SW_SYNC_IOC_INC: %.0f ns/call wall, %.0f ns/call cpu\n",
	       (t1 - t0) / n, (c1 - c0) / n, (t2 - t1) / n, (c2 - c1) / n);
	return 0;
}
