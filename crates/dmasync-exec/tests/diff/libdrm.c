/* libdrm as a client: the calls Mesa's loader, compositors and allocators
 * make (xf86drm.h, xf86drmMode.h), on the vgem device. Opening by name,
 * version, caps, device discovery through /dev/dri and /sys, node names,
 * bus id, auth and master, client info, KMS queries (vgem has none), dumb
 * buffers mapped through the DRM fd and through PRIME, syncobjs (vgem has
 * no DRIVER_SYNCOBJ), vblank and events; the legacy calls, the rest of
 * KMS, dumb buffer sizes, foreign dma-bufs imported, vgem's own ioctls
 * through drmCommand*, and libdrm's queries on fds that are no DRM files.
 *
 * libdrm functions answer in three ways: -1 with errno, -errno, or NULL
 * with errno; res() prints all of them as an errno name. */
#define _GNU_SOURCE
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <sys/sysmacros.h>
#include "probe.h"

#ifndef DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP
#define DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP 0x15
#endif

/* "ok" for r >= 0; else the errno: -1 means "see errno", any other
 * negative value is -errno. */
static const char *res(long r)
{
	if (r >= 0)
		return "ok";
	if (r == -1)
		return errno ? errname(errno) : "-1 errno 0";
	return errname((int)-r);
}

/* errno cleared, so that res() of a -1 that set none says so. */
#define CALL(expr) (errno = 0, (long)(expr))

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static const char *bus_name(int t)
{
	switch (t) {
	case DRM_BUS_PCI: return "pci";
	case DRM_BUS_USB: return "usb";
	case DRM_BUS_PLATFORM: return "platform";
	case DRM_BUS_HOST1X: return "host1x";
	}
	return "other";
}

static const char *node_name(int t)
{
	switch (t) {
	case DRM_NODE_PRIMARY: return "primary";
	case DRM_NODE_CONTROL: return "control";
	case DRM_NODE_RENDER: return "render";
	}
	return "other";
}

/* One drmDevice: bus, nodes, platform names. */
static void show_device(const char *label, drmDevicePtr d)
{
	out("%s: bustype %s available_nodes 0x%x", label, bus_name(d->bustype), d->available_nodes);
	for (int i = 0; i < DRM_NODE_MAX; i++)
		if (d->available_nodes & (1 << i))
			out("%s: node %s %s", label, node_name(i), str(d->nodes[i]));
	if (d->bustype == DRM_BUS_PLATFORM) {
		out("%s: platform fullname %s", label,
		    d->businfo.platform ? d->businfo.platform->fullname : "(no businfo)");
		if (d->deviceinfo.platform && d->deviceinfo.platform->compatible)
			for (char **c = d->deviceinfo.platform->compatible; *c; c++)
				out("%s: platform compatible %s", label, *c);
		else
			out("%s: platform compatible (none)", label);
	}
}

static void get_device2(const char *label, int fd)
{
	drmDevicePtr d = NULL;
	long r = CALL(drmGetDevice2(fd, 0, &d));
	out("%s: drmGetDevice2 %s", label, res(r));
	if (r == 0 && d) {
		show_device(label, d);
		drmFreeDevice(&d);
	}
	r = CALL(drmGetDevice(fd, &d));
	out("%s: drmGetDevice %s, bustype %s", label, res(r), r == 0 && d ? bus_name(d->bustype) : "-");
	if (r == 0 && d)
		drmFreeDevice(&d);
}

static void from_dev_id(unsigned maj, unsigned min)
{
	char label[64];
	drmDevicePtr d = NULL;
	snprintf(label, sizeof(label), "drmGetDeviceFromDevId %u:%u", maj, min);
	long r = CALL(drmGetDeviceFromDevId(makedev(maj, min), 0, &d));
	out("%s: %s", label, res(r));
	if (r == 0 && d) {
		show_device(label, d);
		drmFreeDevice(&d);
	}
}

static void names(const char *label, int fd)
{
	char *s;
	long t = CALL(drmGetNodeTypeFromFd(fd));
	out("%s: drmGetNodeTypeFromFd %s%s", label, t >= 0 ? node_name((int)t) : "", t >= 0 ? "" : res(t));
	s = (errno = 0, drmGetDeviceNameFromFd2(fd));
	out("%s: drmGetDeviceNameFromFd2 %s%s", label, str(s), s ? "" : errname(errno));
	free(s);
	s = (errno = 0, drmGetDeviceNameFromFd(fd));
	out("%s: drmGetDeviceNameFromFd %s", label, str(s));
	free(s);
	s = (errno = 0, drmGetPrimaryDeviceNameFromFd(fd));
	out("%s: drmGetPrimaryDeviceNameFromFd %s", label, str(s));
	free(s);
	s = (errno = 0, drmGetRenderDeviceNameFromFd(fd));
	out("%s: drmGetRenderDeviceNameFromFd %s", label, str(s));
	free(s);
}

static void version(const char *label, int fd)
{
	drmVersionPtr v = (errno = 0, drmGetVersion(fd));
	if (!v) {
		out("%s: drmGetVersion %s", label, errname(errno));
		return;
	}
	out("%s: drmGetVersion name %s version %d.%d.%d desc %s date %s", label, str(v->name),
	    v->version_major, v->version_minor, v->version_patchlevel, str(v->desc), str(v->date));
	drmFreeVersion(v);
}

static void caps(const char *label, int fd)
{
	for (uint64_t cap = 0; cap <= 0x16; cap++) {
		uint64_t val = 0xdead;
		long r = CALL(drmGetCap(fd, cap, &val));
		if (r == 0)
			out("%s: drmGetCap 0x%llx = %llu", label, (unsigned long long)cap, (unsigned long long)val);
		else
			out("%s: drmGetCap 0x%llx %s", label, (unsigned long long)cap, res(r));
	}
	for (uint64_t cap = 0; cap <= 7; cap++)
		for (uint64_t val = 0; val <= 1; val++)
			out("%s: drmSetClientCap %llu %llu %s", label, (unsigned long long)cap,
			    (unsigned long long)val, res(CALL(drmSetClientCap(fd, cap, val))));
}

static void busid(const char *label, int fd)
{
	char *b = (errno = 0, drmGetBusid(fd));
	if (b)
		out("%s: drmGetBusid \"%s\"", label, b);
	else
		out("%s: drmGetBusid NULL %s", label, errname(errno));
	drmFreeBusid(b);
}

static void client(const char *label, int fd, int idx)
{
	int auth = -1, pid = -1, uid = 7;
	unsigned long magic = 7, iocs = 7;
	long r = CALL(drmGetClient(fd, idx, &auth, &pid, &uid, &magic, &iocs));
	if (r)
		out("%s: drmGetClient %d %s", label, idx, res(r));
	else
		out("%s: drmGetClient %d auth %d pid %s uid %d magic %lu iocs %lu", label, idx, auth,
		    pid == getpid() ? "self" : "other", uid, magic, iocs);
}

static void kms(const char *label, int fd)
{
	drmModeResPtr res_ = (errno = 0, drmModeGetResources(fd));
	out("%s: drmModeGetResources %s", label, res_ ? "ok" : errname(errno));
	drmModeFreeResources(res_);
	drmModePlaneResPtr pr = (errno = 0, drmModeGetPlaneResources(fd));
	out("%s: drmModeGetPlaneResources %s", label, pr ? "ok" : errname(errno));
	drmModeFreePlaneResources(pr);
	out("%s: drmIsKMS %d", label, drmIsKMS(fd));
	uint64_t seq = 7, ns = 7;
	out("%s: drmCrtcGetSequence %s", label, res(CALL(drmCrtcGetSequence(fd, 1, &seq, &ns))));
	out("%s: drmCrtcQueueSequence %s", label,
	    res(CALL(drmCrtcQueueSequence(fd, 1, DRM_CRTC_SEQUENCE_RELATIVE, 1, &seq, 0))));
	drmVBlank vbl;
	memset(&vbl, 0, sizeof(vbl));
	vbl.request.type = DRM_VBLANK_RELATIVE;
	vbl.request.sequence = 0;
	out("%s: drmWaitVBlank %s", label, res(CALL(drmWaitVBlank(fd, &vbl))));
	drmModeCrtcPtr crtc = (errno = 0, drmModeGetCrtc(fd, 1));
	out("%s: drmModeGetCrtc %s", label, crtc ? "ok" : errname(errno));
	drmModeFreeCrtc(crtc);
	uint32_t fb = 0;
	out("%s: drmModeAddFB %s", label, res(CALL(drmModeAddFB(fd, 64, 64, 24, 32, 256, 1, &fb))));
}

static void syncobjs(const char *label, int fd)
{
	uint32_t h = 1, first = 0;
	uint64_t point = 1;
	int ofd = -1;
	out("%s: drmSyncobjCreate %s", label, res(CALL(drmSyncobjCreate(fd, 0, &h))));
	out("%s: drmSyncobjCreate signalled %s", label,
	    res(CALL(drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &h))));
	h = 1;
	out("%s: drmSyncobjDestroy %s", label, res(CALL(drmSyncobjDestroy(fd, h))));
	out("%s: drmSyncobjHandleToFD %s", label, res(CALL(drmSyncobjHandleToFD(fd, h, &ofd))));
	out("%s: drmSyncobjExportSyncFile %s", label, res(CALL(drmSyncobjExportSyncFile(fd, h, &ofd))));
	out("%s: drmSyncobjWait %s", label, res(CALL(drmSyncobjWait(fd, &h, 1, 0, 0, &first))));
	out("%s: drmSyncobjReset %s", label, res(CALL(drmSyncobjReset(fd, &h, 1))));
	out("%s: drmSyncobjSignal %s", label, res(CALL(drmSyncobjSignal(fd, &h, 1))));
	out("%s: drmSyncobjTimelineSignal %s", label, res(CALL(drmSyncobjTimelineSignal(fd, &h, &point, 1))));
	out("%s: drmSyncobjQuery %s", label, res(CALL(drmSyncobjQuery(fd, &h, &point, 1))));
}

/* The legacy (pre-KMS, DRI1) calls that old clients still make: their
 * ioctls are gone from 6.12 or refused for a modern driver. */
static void legacy(const char *label, int fd)
{
	drm_context_t ctx = 0;
	drm_handle_t h = 0;
	drmSize size = 0;
	drmMapType type = 0;
	drmMapFlags flags = 0;
	drm_handle_t handle = 0;
	int mtrr = 0;
	drmStatsT stats;
	drm_context_t *list;
	int n = 0;
	out("%s: drmCreateContext %s", label, res(CALL(drmCreateContext(fd, &ctx))));
	out("%s: drmDestroyContext %s", label, res(CALL(drmDestroyContext(fd, 1))));
	out("%s: drmSwitchToContext %s", label, res(CALL(drmSwitchToContext(fd, 1))));
	out("%s: drmSetContextFlags %s", label, res(CALL(drmSetContextFlags(fd, 1, 0))));
	list = (errno = 0, drmGetReservedContextList(fd, &n));
	out("%s: drmGetReservedContextList %s", label, list ? "ok" : errname(errno));
	drmFreeReservedContextList(list);
	out("%s: drmAddMap %s", label, res(CALL(drmAddMap(fd, 0, 4096, DRM_SHM, 0, &h))));
	out("%s: drmRmMap %s", label, res(CALL(drmRmMap(fd, h))));
	out("%s: drmGetMap 0 %s", label, res(CALL(drmGetMap(fd, 0, &handle, &size, &type, &flags, &handle, &mtrr))));
	memset(&stats, 0, sizeof(stats));
	out("%s: drmGetStats %s, count %lu", label, res(CALL(drmGetStats(fd, &stats))), stats.count);
	out("%s: drmUnlock %s", label, res(CALL(drmUnlock(fd, 1))));
	out("%s: drmFinish %s", label, res(CALL(drmFinish(fd, 1, 0))));
	out("%s: drmSetBusid %s", label, res(CALL(drmSetBusid(fd, "platform:vgem"))));
	out("%s: drmAgpAcquire %s", label, res(CALL(drmAgpAcquire(fd))));
	out("%s: drmAgpRelease %s", label, res(CALL(drmAgpRelease(fd))));
	out("%s: drmAgpVersionMajor %d", label, drmAgpVersionMajor(fd));
	out("%s: drmCtlInstHandler %s", label, res(CALL(drmCtlInstHandler(fd, 9))));
	out("%s: drmCtlUninstHandler %s", label, res(CALL(drmCtlUninstHandler(fd))));
	out("%s: drmGetInterruptFromBusID %s", label, res(CALL(drmGetInterruptFromBusID(fd, 0, 1, 0))));
	out("%s: drmCreateDrawable %s", label, res(CALL(drmCreateDrawable(fd, &h))));
	out("%s: drmCheckModesettingSupported(platform:vgem) %s", label,
	    res(CALL(drmCheckModesettingSupported("platform:vgem"))));
}

/* More of KMS than drmModeGetResources: objects by id, properties,
 * blobs, atomic, leases, framebuffers; vgem is no KMS driver. */
static void kms_more(const char *label, int fd)
{
	drmModeConnectorPtr c = (errno = 0, drmModeGetConnector(fd, 1));
	out("%s: drmModeGetConnector %s", label, c ? "ok" : errname(errno));
	drmModeFreeConnector(c);
	c = (errno = 0, drmModeGetConnectorCurrent(fd, 1));
	out("%s: drmModeGetConnectorCurrent %s", label, c ? "ok" : errname(errno));
	drmModeFreeConnector(c);
	drmModeEncoderPtr e = (errno = 0, drmModeGetEncoder(fd, 1));
	out("%s: drmModeGetEncoder %s", label, e ? "ok" : errname(errno));
	drmModeFreeEncoder(e);
	drmModeFBPtr f = (errno = 0, drmModeGetFB(fd, 1));
	out("%s: drmModeGetFB %s", label, f ? "ok" : errname(errno));
	drmModeFreeFB(f);
	drmModeFB2Ptr f2 = (errno = 0, drmModeGetFB2(fd, 1));
	out("%s: drmModeGetFB2 %s", label, f2 ? "ok" : errname(errno));
	drmModeFreeFB2(f2);
	out("%s: drmModeRmFB %s", label, res(CALL(drmModeRmFB(fd, 1))));
	out("%s: drmModeDirtyFB %s", label, res(CALL(drmModeDirtyFB(fd, 1, NULL, 0))));
	{
		uint32_t handles[4] = { 1 }, pitches[4] = { 256 }, offsets[4] = { 0 }, id = 0;
		out("%s: drmModeAddFB2 %s", label,
		    res(CALL(drmModeAddFB2(fd, 64, 64, 0x34325258, handles, pitches, offsets, &id, 0))));
	}
	drmModePlanePtr pl = (errno = 0, drmModeGetPlane(fd, 1));
	out("%s: drmModeGetPlane %s", label, pl ? "ok" : errname(errno));
	drmModeFreePlane(pl);
	drmModeObjectPropertiesPtr op = (errno = 0, drmModeObjectGetProperties(fd, 1, DRM_MODE_OBJECT_CRTC));
	out("%s: drmModeObjectGetProperties %s", label, op ? "ok" : errname(errno));
	drmModeFreeObjectProperties(op);
	out("%s: drmModeObjectSetProperty %s", label,
	    res(CALL(drmModeObjectSetProperty(fd, 1, DRM_MODE_OBJECT_CRTC, 1, 0))));
	drmModePropertyPtr pr = (errno = 0, drmModeGetProperty(fd, 1));
	out("%s: drmModeGetProperty %s", label, pr ? "ok" : errname(errno));
	drmModeFreeProperty(pr);
	drmModePropertyBlobPtr b = (errno = 0, drmModeGetPropertyBlob(fd, 1));
	out("%s: drmModeGetPropertyBlob %s", label, b ? "ok" : errname(errno));
	drmModeFreePropertyBlob(b);
	{
		uint32_t id = 0;
		char data[16] = { 0 };
		out("%s: drmModeCreatePropertyBlob %s", label, res(CALL(drmModeCreatePropertyBlob(fd, data, 16, &id))));
		out("%s: drmModeDestroyPropertyBlob %s", label, res(CALL(drmModeDestroyPropertyBlob(fd, 1))));
	}
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	out("%s: drmModeAtomicCommit empty %s", label, res(CALL(drmModeAtomicCommit(fd, req, 0, NULL))));
	out("%s: drmModeAtomicCommit TEST_ONLY %s", label,
	    res(CALL(drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_TEST_ONLY, NULL))));
	drmModeAtomicFree(req);
	{
		uint32_t objs[1] = { 1 }, lessee = 0;
		out("%s: drmModeCreateLease %s", label, res(CALL(drmModeCreateLease(fd, objs, 1, O_CLOEXEC, &lessee))));
		drmModeLesseeListPtr ll = (errno = 0, drmModeListLessees(fd));
		out("%s: drmModeListLessees %s", label, ll ? "ok" : errname(errno));
		drmFree(ll);
		drmModeObjectListPtr ol = (errno = 0, drmModeGetLease(fd));
		out("%s: drmModeGetLease %s", label, ol ? "ok" : errname(errno));
		drmFree(ol);
		out("%s: drmModeRevokeLease %s", label, res(CALL(drmModeRevokeLease(fd, 1))));
	}
	out("%s: drmModeSetCursor %s", label, res(CALL(drmModeSetCursor(fd, 1, 0, 0, 0))));
	out("%s: drmModeMoveCursor %s", label, res(CALL(drmModeMoveCursor(fd, 1, 0, 0))));
	out("%s: drmModePageFlip %s", label, res(CALL(drmModePageFlip(fd, 1, 1, 0, NULL))));
	out("%s: drmModeSetCrtc %s", label, res(CALL(drmModeSetCrtc(fd, 1, 0, 0, 0, NULL, 0, NULL))));
	{
		uint16_t r[4] = { 0 }, g[4] = { 0 }, bl[4] = { 0 };
		out("%s: drmModeCrtcGetGamma %s", label, res(CALL(drmModeCrtcGetGamma(fd, 1, 4, r, g, bl))));
	}
}

/* Dumb buffer sizes: what vgem's dumb_create computes and refuses. */
static void dumb_sizes(int fd)
{
	static const struct {
		uint32_t w, h, bpp, flags;
	} c[] = { { 1, 1, 32, 0 },	 { 17, 3, 24, 0 },	{ 100, 100, 8, 0 },   { 64, 64, 16, 0 },
		  { 64, 64, 0, 0 },	 { 0, 64, 32, 0 },	{ 64, 0, 32, 0 },     { 64, 64, 12, 0 },
		  { 65536, 65536, 32, 0 }, { 0xffffffff, 2, 32, 0 }, { 64, 64, 1, 0 },   { 64, 64, 64, 0 } };
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint32_t h = 0, pitch = 0;
		uint64_t size = 0;
		long r = CALL(drmModeCreateDumbBuffer(fd, c[i].w, c[i].h, c[i].bpp, c[i].flags, &h, &pitch, &size));
		if (r == 0) {
			out("card: dumb %ux%ux%u ok: pitch %u size %llu", c[i].w, c[i].h, c[i].bpp, pitch,
			    (unsigned long long)size);
			drmModeDestroyDumbBuffer(fd, h);
		} else {
			out("card: dumb %ux%ux%u %s", c[i].w, c[i].h, c[i].bpp, res(r));
		}
	}
}

/* Foreign dma-bufs imported into vgem (a system heap buffer, a udmabuf),
 * driver ioctls through drmCommand*, libdrm's node queries on fds that
 * are no DRM files, and PRIME flags. */
static void foreign(int card, int render)
{
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	struct dma_heap_allocation_data a = { .len = 16384, .fd_flags = O_RDWR | O_CLOEXEC };
	int hb = heap >= 0 && ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a) == 0 ? (int)a.fd : -1;
	uint32_t h = 0, h2 = 0;
	int back = -1;
	uint64_t off = 0;
	long r = CALL(drmPrimeFDToHandle(render, hb, &h));
	out("render: drmPrimeFDToHandle of a heap dma-buf %s", res(r));
	r = CALL(drmPrimeFDToHandle(render, hb, &h2));
	out("render: drmPrimeFDToHandle of it again %s, same handle %s", res(r), yesno(h == h2));
	r = CALL(drmPrimeHandleToFD(render, h, DRM_CLOEXEC | DRM_RDWR, &back));
	{
		struct stat x, y;
		out("render: drmPrimeHandleToFD of the import %s, the heap's dma-buf %s", res(r),
		    yesno(back >= 0 && fstat(back, &x) == 0 && fstat(hb, &y) == 0 && x.st_ino == y.st_ino));
	}
	if (back >= 0)
		close(back);
	out("render: drmModeMapDumbBuffer of the import %s", res(CALL(drmModeMapDumbBuffer(render, h, &off))));
	{
		struct vgem_fence_attach fa = { .handle = h, .flags = VGEM_FENCE_WRITE };
		r = CALL(drmCommandWriteRead(render, 0x01, &fa, sizeof(fa)));
		out("render: VGEM_FENCE_ATTACH on the import %s", res(r));
		if (r == 0) {
			struct vgem_fence_signal fs = { .fence = fa.out_fence };
			out("render: VGEM_FENCE_SIGNAL %s", res(CALL(drmCommandWrite(render, 0x02, &fs, sizeof(fs)))));
			out("render: VGEM_FENCE_SIGNAL again %s", res(CALL(drmCommandWrite(render, 0x02, &fs, sizeof(fs)))));
		}
		fa = (struct vgem_fence_attach){ .handle = 999 };
		out("render: VGEM_FENCE_ATTACH on 999 %s", res(CALL(drmCommandWriteRead(render, 0x01, &fa, sizeof(fa)))));
		fa = (struct vgem_fence_attach){ .handle = h, .flags = 2 };
		out("render: VGEM_FENCE_ATTACH bad flags %s", res(CALL(drmCommandWriteRead(render, 0x01, &fa, sizeof(fa)))));
		fa = (struct vgem_fence_attach){ .handle = h, .pad = 1 };
		out("render: VGEM_FENCE_ATTACH pad %s", res(CALL(drmCommandWriteRead(render, 0x01, &fa, sizeof(fa)))));
	}
	out("render: drmCommandNone 0x00 %s", res(CALL(drmCommandNone(render, 0x00))));
	out("render: drmCommandNone 0x10 %s", res(CALL(drmCommandNone(render, 0x10))));
	out("render: drmCloseBufferHandle of the import %s", res(CALL(drmCloseBufferHandle(render, h))));

	int mfd = memfd_create("libdrm", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ftruncate(mfd, 8192);
	fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK);
	int udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	struct udmabuf_create uc = { .memfd = mfd, .flags = UDMABUF_FLAGS_CLOEXEC, .size = 8192 };
	int ub = udev >= 0 ? ioctl(udev, UDMABUF_CREATE, &uc) : -1;
	r = CALL(drmPrimeFDToHandle(card, ub, &h));
	out("card: drmPrimeFDToHandle of a udmabuf %s", res(r));
	if (r == 0) {
		out("card: drmModeMapDumbBuffer of the udmabuf import %s", res(CALL(drmModeMapDumbBuffer(card, h, &off))));
		out("card: drmCloseBufferHandle of it %s", res(CALL(drmCloseBufferHandle(card, h))));
	}

	int tl = open_timeline();
	int fence = create_fence(tl, 1);
	out("render: drmPrimeFDToHandle of a sync file %s", res(CALL(drmPrimeFDToHandle(render, fence, &h))));
	out("render: drmPrimeFDToHandle of a DRM fd %s", res(CALL(drmPrimeFDToHandle(render, card, &h))));
	out("render: drmPrimeFDToHandle of -1 %s", res(CALL(drmPrimeFDToHandle(render, -1, &h))));
	names("heap dma-buf", hb);
	names("sync file", fence);
	{
		drmDevicePtr d = NULL;
		out("heap dma-buf: drmGetDevice2 %s", res(CALL(drmGetDevice2(hb, 0, &d))));
		out("sync file: drmGetVersion %s", drmGetVersion(fence) ? "ok" : errname(errno));
		out("heap dma-buf: drmIsMaster %d", drmIsMaster(hb));
		drm_magic_t m = 0;
		out("heap dma-buf: drmGetMagic %s", res(CALL(drmGetMagic(hb, &m))));
		out("heap dma-buf: drmGetBusid %s", drmGetBusid(hb) ? "ok" : errname(errno));
		uint64_t v = 7;
		out("heap dma-buf: drmGetCap %s", res(CALL(drmGetCap(hb, DRM_CAP_PRIME, &v))));
	}
	{
		uint32_t dh = 0, pitch = 0;
		uint64_t size = 0;
		int pfd = -1;
		drmModeCreateDumbBuffer(card, 16, 16, 32, 0, &dh, &pitch, &size);
		out("card: drmPrimeHandleToFD flags 0 %s", res(CALL(drmPrimeHandleToFD(card, dh, 0, &pfd))));
		if (pfd >= 0) {
			out("prime fd, flags 0: F_GETFL access %s, cloexec %s",
			    (fcntl(pfd, F_GETFL) & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "other",
			    yesno(fcntl(pfd, F_GETFD) & FD_CLOEXEC));
			void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
			out("prime fd, flags 0: mmap PROT_WRITE %s", m == MAP_FAILED ? errname(errno) : "ok");
			if (m != MAP_FAILED)
				munmap(m, size);
			close(pfd);
		}
		out("card: drmPrimeHandleToFD flags O_NONBLOCK %s",
		    res(CALL(drmPrimeHandleToFD(card, dh, O_NONBLOCK, &pfd))));
		out("card: drmPrimeHandleToFD flags 0x1 %s", res(CALL(drmPrimeHandleToFD(card, dh, 0x1, &pfd))));
		out("card: drmPrimeHandleToFD flags O_WRONLY %s", res(CALL(drmPrimeHandleToFD(card, dh, O_WRONLY, &pfd))));
		drmModeDestroyDumbBuffer(card, dh);
	}
	{
		drmDevicePtr devs[4] = { 0 };
		int n = drmGetDevices2(DRM_DEVICE_GET_PCI_REVISION, devs, 4);
		out("drmGetDevices2 GET_PCI_REVISION %s %d", res(n), n);
		if (n > 0)
			drmFreeDevices(devs, n);
		n = drmGetDevices2(0x100, devs, 4);
		out("drmGetDevices2 flags 0x100 %s %d", res(n), n);
		if (n > 0)
			drmFreeDevices(devs, n);
	}
	close(fence);
	close(tl);
	if (ub >= 0)
		close(ub);
	close(mfd);
	if (udev >= 0)
		close(udev);
	if (hb >= 0)
		close(hb);
	if (heap >= 0)
		close(heap);
}

int main(void)
{
	probe_init();

	out("drmAvailable %d", drmAvailable());

	/* Opening. */
	int card = CALL(drmOpen("vgem", NULL));
	out("drmOpen vgem: %s", res(card));
	int prim = CALL(drmOpenWithType("vgem", NULL, DRM_NODE_PRIMARY));
	out("drmOpenWithType vgem primary: %s", res(prim));
	int render = CALL(drmOpenWithType("vgem", NULL, DRM_NODE_RENDER));
	out("drmOpenWithType vgem render: %s", res(render));
	int render2 = CALL(drmOpenRender(128));
	out("drmOpenRender 128: %s", res(render2));
	int none = CALL(drmOpen("i915", NULL));
	out("drmOpen i915: %s", none >= 0 ? "ok" : "fails");
	if (none >= 0)
		close(none);
	if (card < 0 || prim < 0 || render < 0) {
		out("FATAL cannot open vgem");
		return 2;
	}
	out("drmOpenRender 129: %s", CALL(drmOpenRender(129)) >= 0 ? "ok" : "fails");
	out("drmOpenControl 64: %s", CALL(drmOpenControl(64)) >= 0 ? "ok" : "fails");

	version("card", card);
	version("render", render);
	caps("card", card);
	caps("render", render);

	/* Discovery. */
	get_device2("card", card);
	get_device2("render", render);
	{
		drmDevicePtr devs[8] = { 0 };
		int n = drmGetDevices2(0, NULL, 0);
		out("drmGetDevices2 count %s %d", res(n), n);
		n = drmGetDevices2(0, devs, 8);
		out("drmGetDevices2 %s %d", res(n), n);
		for (int i = 0; i < n && i < 8; i++) {
			char label[32];
			snprintf(label, sizeof(label), "drmGetDevices2[%d]", i);
			show_device(label, devs[i]);
		}
		if (n == 1) {
			drmDevicePtr d = NULL;
			if (drmGetDevice2(render, 0, &d) == 0) {
				out("drmDevicesEqual render's and the listed one %d", drmDevicesEqual(d, devs[0]));
				drmFreeDevice(&d);
			}
		}
		if (n > 0)
			drmFreeDevices(devs, n < 8 ? n : 8);
		n = drmGetDevices(devs, 8);
		out("drmGetDevices %s %d", res(n), n);
		if (n > 0)
			drmFreeDevices(devs, n < 8 ? n : 8);
	}
	from_dev_id(226, 0);
	from_dev_id(226, 128);
	from_dev_id(226, 1);
	from_dev_id(1, 3);
	names("card", card);
	names("render", render);
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		names("/dev/null", null);
		drmDevicePtr d = NULL;
		out("/dev/null: drmGetDevice2 %s", res(CALL(drmGetDevice2(null, 0, &d))));
		out("/dev/null: drmGetVersion %s", drmGetVersion(null) ? "ok" : errname(errno));
		close(null);
	}

	/* Bus id, SET_VERSION. */
	busid("card", card);
	busid("render", render);
	{
		drmSetVersion sv = { 1, 4, -1, -1 };
		out("render: drmSetInterfaceVersion 1.4 %s", res(CALL(drmSetInterfaceVersion(render, &sv))));
		sv = (drmSetVersion){ 1, 4, -1, -1 };
		out("prim: drmSetInterfaceVersion 1.4, not master %s", res(CALL(drmSetInterfaceVersion(prim, &sv))));
		sv = (drmSetVersion){ 1, 4, -1, -1 };
		long r = CALL(drmSetInterfaceVersion(card, &sv));
		out("card: drmSetInterfaceVersion 1.4 %s: %d.%d %d.%d", res(r), sv.drm_di_major, sv.drm_di_minor,
		    sv.drm_dd_major, sv.drm_dd_minor);
		busid("card after SET_VERSION", card);
		busid("prim after SET_VERSION", prim);
		sv = (drmSetVersion){ 2, 0, -1, -1 };
		out("card: drmSetInterfaceVersion 2.0 %s", res(CALL(drmSetInterfaceVersion(card, &sv))));
		sv = (drmSetVersion){ -1, -1, 1, 0 };
		out("card: drmSetInterfaceVersion dd 1.0 %s", res(CALL(drmSetInterfaceVersion(card, &sv))));
		int byid = CALL(drmOpenWithType(NULL, "vgem", DRM_NODE_PRIMARY));
		out("drmOpenWithType NULL busid vgem: %s", byid >= 0 ? "ok" : "fails");
		if (byid >= 0)
			close(byid);
	}

	/* Auth and master. */
	{
		drm_magic_t m1 = 0, m2 = 0, m3 = 0;
		out("card: drmIsMaster %d", drmIsMaster(card));
		out("prim: drmIsMaster %d", drmIsMaster(prim));
		out("render: drmIsMaster %d", drmIsMaster(render));
		out("prim: drmGetMagic %s", res(CALL(drmGetMagic(prim, &m1))));
		long r = CALL(drmGetMagic(prim, &m2));
		out("prim: drmGetMagic again %s, same %s", res(r), yesno(m1 == m2));
		out("render: drmGetMagic %s", res(CALL(drmGetMagic(render, &m3))));
		out("prim: drmAuthMagic of its own %s", res(CALL(drmAuthMagic(prim, m1))));
		out("card: drmAuthMagic of prim's %s", res(CALL(drmAuthMagic(card, m1))));
		out("card: drmAuthMagic of prim's again %s", res(CALL(drmAuthMagic(card, m1))));
		out("card: drmAuthMagic 0 %s", res(CALL(drmAuthMagic(card, 0))));
		out("render: drmAuthMagic %s", res(CALL(drmAuthMagic(render, m1))));
		out("prim: drmSetMaster while card is %s", res(CALL(drmSetMaster(prim))));
		out("prim: drmDropMaster, not master %s", res(CALL(drmDropMaster(prim))));
		out("card: drmSetMaster, master %s", res(CALL(drmSetMaster(card))));
		out("card: drmDropMaster %s", res(CALL(drmDropMaster(card))));
		out("card: drmIsMaster after drop %d", drmIsMaster(card));
		out("card: drmDropMaster again %s", res(CALL(drmDropMaster(card))));
		out("prim: drmSetMaster %s", res(CALL(drmSetMaster(prim))));
		out("prim: drmIsMaster %d", drmIsMaster(prim));
		out("prim: drmDropMaster %s", res(CALL(drmDropMaster(prim))));
		out("card: drmSetMaster back %s", res(CALL(drmSetMaster(card))));
		out("card: drmIsMaster %d", drmIsMaster(card));
		out("render: drmSetMaster %s", res(CALL(drmSetMaster(render))));
		out("render: drmDropMaster %s", res(CALL(drmDropMaster(render))));
		client("card", card, 0);
		client("card", card, 1);
		client("card", card, -1);
		client("render", render, 0);
	}

	kms("card", card);
	kms("render", render);

	/* Dumb buffers, the DRM fd's mapping, PRIME. */
	{
		uint32_t h = 0, pitch = 0, rh = 0, rh2 = 0, h2 = 0;
		uint64_t size = 0, off = 0;
		int pfd = -1, pfd2 = -1;
		long r = CALL(drmModeCreateDumbBuffer(card, 64, 64, 32, 0, &h, &pitch, &size));
		out("card: drmModeCreateDumbBuffer 64x64x32 %s: handle %u pitch %u size %llu", res(r), h, pitch,
		    (unsigned long long)size);
		out("render: drmModeCreateDumbBuffer %s",
		    res(CALL(drmModeCreateDumbBuffer(render, 64, 64, 32, 0, &h2, &pitch, &size))));
		out("card: drmModeCreateDumbBuffer flags 1 %s",
		    res(CALL(drmModeCreateDumbBuffer(card, 64, 64, 32, 1, &h2, &pitch, &size))));
		r = CALL(drmModeMapDumbBuffer(card, h, &off));
		out("card: drmModeMapDumbBuffer %s: offset %s, page aligned %s", res(r), off ? "nonzero" : "0",
		    yesno(off % PAGE == 0));
		out("card: drmModeMapDumbBuffer again same offset %s",
		    yesno(drmModeMapDumbBuffer(card, h, &size) == 0 && size == off));
		size = 16384;
		out("card: drmModeMapDumbBuffer 999 %s", res(CALL(drmModeMapDumbBuffer(card, 999, &off))));
		drmModeMapDumbBuffer(card, h, &off);
		unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, card, off);
		out("card: mmap at the offset %s", m == MAP_FAILED ? errname(errno) : "ok");
		void *bad = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, card, off + 1024 * 1024);
		out("card: mmap at a wrong offset %s", bad == MAP_FAILED ? errname(errno) : "ok");
		if (bad != MAP_FAILED)
			munmap(bad, size);
		bad = mmap(NULL, size * 2, PROT_READ | PROT_WRITE, MAP_SHARED, card, off);
		out("card: mmap larger than the buffer %s", bad == MAP_FAILED ? errname(errno) : "ok");
		if (bad != MAP_FAILED)
			munmap(bad, size * 2);
		if (m != MAP_FAILED) {
			for (size_t i = 0; i < size; i++)
				m[i] = (unsigned char)(i * 7 + 1);
		}
		r = CALL(drmPrimeHandleToFD(card, h, DRM_CLOEXEC | DRM_RDWR, &pfd));
		out("card: drmPrimeHandleToFD %s, size %lld", res(r), pfd >= 0 ? (long long)lseek(pfd, 0, SEEK_END) : -1LL);
		unsigned char *pm = pfd >= 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0) : MAP_FAILED;
		out("prime fd: mmap %s", pm == MAP_FAILED ? errname(errno) : "ok");
		if (m != MAP_FAILED && pm != MAP_FAILED) {
			int same = 1;
			for (size_t i = 0; i < size; i++)
				same &= pm[i] == (unsigned char)(i * 7 + 1);
			out("prime fd: sees the DRM mapping's writes %s", yesno(same));
			memset(pm + 100, 0x5a, 100);
			out("card mapping: sees the prime mapping's writes %s", yesno(m[150] == 0x5a && m[99] == (unsigned char)(99 * 7 + 1)));
		}
		r = CALL(drmPrimeFDToHandle(card, pfd, &h2));
		out("card: drmPrimeFDToHandle of its own export %s, same handle %s", res(r), yesno(h2 == h));
		r = CALL(drmPrimeFDToHandle(render, pfd, &rh));
		out("render: drmPrimeFDToHandle %s", res(r));
		r = CALL(drmPrimeFDToHandle(render, pfd, &rh2));
		out("render: drmPrimeFDToHandle again %s, same handle %s", res(r), yesno(rh == rh2));
		r = CALL(drmPrimeHandleToFD(render, rh, DRM_CLOEXEC, &pfd2));
		{
			struct stat a, b;
			int same = pfd2 >= 0 && fstat(pfd, &a) == 0 && fstat(pfd2, &b) == 0 && a.st_ino == b.st_ino &&
				   a.st_dev == b.st_dev;
			out("render: drmPrimeHandleToFD of the import %s, same dma-buf %s", res(r), yesno(same));
		}
		out("render: drmModeMapDumbBuffer of the import %s", res(CALL(drmModeMapDumbBuffer(render, rh, &off))));
		out("render: drmPrimeHandleToFD 999 %s", res(CALL(drmPrimeHandleToFD(render, 999, 0, &pfd2))));
		out("render: drmPrimeFDToHandle of /dev/null %s", res(CALL(drmPrimeFDToHandle(render, open("/dev/null", O_RDONLY | O_CLOEXEC), &rh2))));
		out("render: drmCloseBufferHandle %s", res(CALL(drmCloseBufferHandle(render, rh))));
		out("render: drmCloseBufferHandle again %s", res(CALL(drmCloseBufferHandle(render, rh))));
		out("render: drmCloseBufferHandle 0 %s", res(CALL(drmCloseBufferHandle(render, 0))));
		out("card: drmModeDestroyDumbBuffer %s", res(CALL(drmModeDestroyDumbBuffer(card, h))));
		out("card: drmModeDestroyDumbBuffer again %s", res(CALL(drmModeDestroyDumbBuffer(card, h))));
		out("card: drmModeMapDumbBuffer after destroy %s", res(CALL(drmModeMapDumbBuffer(card, h, &off))));
		if (m != MAP_FAILED)
			out("card mapping after destroy: still reads %s", yesno(m[150] == 0x5a && m[1] == 8));
		r = CALL(drmPrimeFDToHandle(card, pfd, &h2));
		out("card: drmPrimeFDToHandle after destroy %s, handle %u", res(r), h2);
		out("card: drmCloseBufferHandle of it %s", res(CALL(drmCloseBufferHandle(card, h2))));
		if (m != MAP_FAILED)
			munmap(m, size);
		if (pm != MAP_FAILED)
			munmap(pm, size);
		close(pfd);
	}

	syncobjs("card", card);
	syncobjs("render", render);

	legacy("card", card);
	legacy("render", render);
	kms_more("card", card);
	kms_more("render", render);
	dumb_sizes(card);
	foreign(card, render);

	/* Events on a non-blocking fd: none pending. */
	{
		int fl = fcntl(card, F_GETFL);
		out("card: F_SETFL O_NONBLOCK %s", rc(fcntl(card, F_SETFL, fl | O_NONBLOCK)));
		drmEventContext ev = { .version = 2 };
		long r = CALL(drmHandleEvent(card, &ev));
		out("card: drmHandleEvent %ld %s", r, r < 0 ? errname(errno) : "");
		out("card: poll %s", poll_now(card, POLLIN, 0));
	}

	{
		char *n = drmGetFormatModifierName(0);
		out("drmGetFormatModifierName LINEAR: %s", str(n));
		free(n);
	}

	out("close card %s", rc(drmClose(card)));
	out("close prim %s", rc(drmClose(prim)));
	out("close render %s", rc(drmClose(render)));
	if (render2 >= 0)
		close(render2);
	/* A new primary opener is master again. */
	int again = CALL(drmOpenWithType("vgem", NULL, DRM_NODE_PRIMARY));
	out("drmOpenWithType vgem primary again: %s, master %d", res(again), again >= 0 ? drmIsMaster(again) : -1);
	busid("again", again);
	close(again);
	return 0;
}
