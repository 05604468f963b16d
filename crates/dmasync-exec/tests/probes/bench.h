/* Timing helpers shared by the bench_*.c programs: wall time, and the CPU
 * time of this process plus its parent (the dmasync supervisor when run
 * under `dmasync exec`), which is less sensitive to a loaded machine. */
#ifndef DMASYNC_BENCH_H
#define DMASYNC_BENCH_H
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* CPU time (ns) of this process plus its parent. */
static inline double cpu(void)
{
	struct rusage ru;
	unsigned long ut = 0, st = 0;
	char path[64];
	FILE *f;
	double t;

	getrusage(RUSAGE_SELF, &ru);
	t = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getppid());
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
			ut = st = 0;
		fclose(f);
	}
	return t + (ut + st) * 1e9 / sysconf(_SC_CLK_TCK);
}

#endif
