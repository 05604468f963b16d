/* The vgem fence that is never signalled: it expires after 10 s, without
 * an error; a blocked poll(POLLOUT) wakes then; VGEM_FENCE_SIGNAL gives
 * ETIMEDOUT, and ENOENT the second time. Slow (10 s) but not racy: every
 * line is a result, never a time. Golden: golden/vgem-expiry.txt. */
#include "resv.h"

int main(void)
{
	int card, buf, f, status;
	struct drm_mode_create_dumb d = { .height = 1, .width = 1024, .bpp = 32 };
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };
	struct vgem_fence_attach a = { .flags = VGEM_FENCE_WRITE };
	struct vgem_fence_signal s = { 0 };
	pid_t pid;

	probe_init();
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	out("open /dev/dri/card0 %s", rc(card));
	if (card < 0)
		return 2;
	out("CREATE_DUMB %s", rc(ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &d)));
	p.handle = d.handle;
	out("PRIME export %s", rc(ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p)));
	buf = p.fd;
	a.handle = d.handle;
	out("ATTACH WRITE %s", rc(ioctl(card, DRM_IOCTL_VGEM_FENCE_ATTACH, &a)));
	f = export_sf(buf, DMA_BUF_SYNC_READ);
	out("pending: sync file status %d", file_status(f));
	/* Another process waits too. */
	pid = fork();
	if (pid == 0)
		exit(strcmp(poll_now(f, POLLIN, -1), "IN") ? 1 : 0);
	out("poll OUT (blocking, until the fence expires) %s", poll_now(buf, POLLOUT, -1));
	waitpid(pid, &status, 0);
	out("the child's poll IN on the sync file woke: exit %d", WEXITSTATUS(status));
	show_file("expired: the sync file", f);
	show_export("expired: EXPORT WRITE", buf, DMA_BUF_SYNC_WRITE);
	s.fence = a.out_fence;
	out("SIGNAL after expiry %s", rc(ioctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s)));
	out("SIGNAL again %s", rc(ioctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s)));
	close(f);
	close(buf);
	close(card);
	out("end");
	return 0;
}
