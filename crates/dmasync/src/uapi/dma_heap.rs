//! dma-heap ioctls (include/uapi/linux/dma-heap.h; drivers/dma-buf/dma-heap.c),
//! issued on `/dev/dma_heap/<name>` (e.g. `system`).
//!
//! Like DRM, the dispatcher selects the handler by `nr` only: `nr` past its
//! table -> `-EINVAL`; the user's size may differ from the kernel's (missing
//! bytes read as zero) and the struct is copied back even on failure.

use super::{uapi_ioctls, uapi_structs};

/// The ioctl magic of dma-heap (`'H'`).
pub const DMA_HEAP_IOC_MAGIC: u8 = b'H';
/// `O_CLOEXEC` (0o2000000) as the generic fcntl numbering has it.
const O_CLOEXEC: u32 = 0o200_0000;
/// `O_ACCMODE` (`O_RDONLY | O_WRONLY | O_RDWR` field).
const O_ACCMODE: u32 = 0o3;
/// Valid [`DmaHeapAllocationData::fd_flags`]: `O_CLOEXEC | O_ACCMODE`.
pub const DMA_HEAP_VALID_FD_FLAGS: u32 = O_CLOEXEC | O_ACCMODE;
/// Valid [`DmaHeapAllocationData::heap_flags`]: none are defined.
pub const DMA_HEAP_VALID_HEAP_FLAGS: u64 = 0;

uapi_structs! {
    /// Argument of [`DMA_HEAP_IOCTL_ALLOC`]: allocates a dma-buf from the heap.
    pub struct DmaHeapAllocationData = "dma_heap_allocation_data" {
        /// In: bytes, rounded up to whole pages; 0 -> `-EINVAL`.
        pub len: u64,
        /// In: must be 0, else `-EINVAL`. Out: the dma-buf fd.
        pub fd: u32,
        /// In: flags of the new fd; a bit outside
        /// [`DMA_HEAP_VALID_FD_FLAGS`] -> `-EINVAL`.
        pub fd_flags: u32,
        /// In: a bit outside [`DMA_HEAP_VALID_HEAP_FLAGS`] (any) -> `-EINVAL`.
        pub heap_flags: u64,
    }
}

uapi_ioctls! {
    /// `_IOWR('H', 0, struct dma_heap_allocation_data)` = `0xC0184800`.
    DMA_HEAP_IOCTL_ALLOC = iowr(DMA_HEAP_IOC_MAGIC, 0, DmaHeapAllocationData);
}
