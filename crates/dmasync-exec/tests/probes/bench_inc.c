/* Cost of one notified ioctl round trip: SW_SYNC_IOC_INC in a loop,
 * against getppid() (never leaves the kernel). Prints ns per call. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	int tl = open("/sys/kernel/debug/sync/sw_sync", O_RDWR);
	uint32_t one = 1;
	double t0, t1, t2;
	int i;

	if (tl < 0) {
		perror("open sw_sync");
		return 1;
	}
	t0 = now();
	for (i = 0; i < n; i++)
		getppid();
	t1 = now();
	for (i = 0; i < n; i++)
		if (ioctl(tl, SW_SYNC_IOC_INC, &one)) {
			perror("SW_SYNC_IOC_INC");
			return 1;
		}
	t2 = now();
	printf("getppid %.0f ns/call, SW_SYNC_IOC_INC %.0f ns/call\n", (t1 - t0) / n, (t2 - t1) / n);
	return 0;
}
