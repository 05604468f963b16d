//! The one error type of the model, and its mapping to the kernel's errno.
//!
//! Each variant is one *cause*; [`Error::errno`] gives the value the kernel
//! returns for that cause. Where the kernel reports one cause with different
//! errno values in different calls, the UAPI layer picks the call's value;
//! each public function documents its variants under `# Errors`.

/// Errno values used by the subsystem (x86 / generic numbering).
pub mod errno {
    #![allow(missing_docs)]
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EINTR: i32 = 4;
    pub const EBADF: i32 = 9;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EFAULT: i32 = 14;
    pub const EBUSY: i32 = 16;
    pub const EINVAL: i32 = 22;
    pub const ENOTTY: i32 = 25;
    pub const ENOSPC: i32 = 28;
    pub const ESPIPE: i32 = 29;
    pub const EDEADLK: i32 = 35;
    pub const ENODATA: i32 = 61;
    pub const ETIME: i32 = 62;
    pub const EOVERFLOW: i32 = 75;
    pub const EBADFD: i32 = 77;
    pub const EOPNOTSUPP: i32 = 95;
    pub const ETIMEDOUT: i32 = 110;
    pub const EALREADY: i32 = 114;
    pub const ECANCELED: i32 = 125;
    /// The largest errno value a fence error may carry.
    pub const MAX_ERRNO: i32 = 4095;
}

/// An error of the dmasync model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The fence has already signalled (`-ENOENT` from `dma_fence_add_callback`).
    #[error("fence already signalled")]
    AlreadySignaled,
    /// An argument is out of range or inconsistent (`-EINVAL`).
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
    /// The object or point does not exist (`-ENOENT`).
    #[error("not found")]
    NotFound,
    /// The resource is in use (`-EBUSY`).
    #[error("resource busy")]
    Busy,
    /// A wait/wound acquire context must back off (`-EDEADLK`).
    #[error("deadlock avoided: back off and retry")]
    Deadlock,
    /// The acquire context already holds this lock (`-EALREADY`).
    #[error("lock already held by this acquire context")]
    AlreadyLocked,
    /// A wait was interrupted (`-EINTR`; `-ERESTARTSYS` inside the kernel).
    #[error("interrupted")]
    Interrupted,
    /// A wait timed out (`-ETIME`).
    #[error("timed out")]
    TimedOut,
    /// An allocation or a fixed limit was exhausted (`-ENOMEM`).
    #[error("out of memory")]
    NoMemory,
    /// A reservation object had no reserved slot left for a new fence
    /// (`-ENOSPC`). The kernel has no errno for this programming error: its
    /// `dma_resv_add_fence` BUG()s; the model reports it instead.
    #[error("no reserved fence slot: call reserve_fences first")]
    NotReserved,
    /// The command is not one this file knows (`-ENOTTY`).
    #[error("inappropriate ioctl for device")]
    NotTty,
    /// The caller lacks the right to do this on this file (`-EACCES`), e.g.
    /// a DRM ioctl not allowed on a render node.
    #[error("permission denied")]
    Access,
    /// The device or driver does not support the operation (`-EOPNOTSUPP`).
    #[error("operation not supported")]
    NotSupported,
    /// The object expired before it was used (`-ETIMEDOUT`), e.g. a vgem
    /// fence that its 10 s timer signalled before VGEM_FENCE_SIGNAL.
    #[error("expired")]
    Expired,
    /// A file descriptor is not open (`-EBADF`).
    #[error("bad file descriptor")]
    BadFd,
    /// A user pointer could not be read or written (`-EFAULT`).
    #[error("bad address")]
    Fault,
    /// A file descriptor refers to a file of the wrong kind for the call
    /// (`-EBADFD`): udmabuf given something that is not shmem or hugetlbfs.
    #[error("file descriptor in bad state")]
    BadFdState,
}

impl Error {
    /// The positive errno the kernel returns for this cause.
    pub fn errno(self) -> i32 {
        use errno::*;
        match self {
            Error::AlreadySignaled | Error::NotFound => ENOENT,
            Error::Invalid(_) => EINVAL,
            Error::Busy => EBUSY,
            Error::Deadlock => EDEADLK,
            Error::AlreadyLocked => EALREADY,
            Error::Interrupted => EINTR,
            Error::TimedOut => ETIME,
            Error::NoMemory => ENOMEM,
            Error::NotReserved => ENOSPC,
            Error::NotTty => ENOTTY,
            Error::Access => EACCES,
            Error::NotSupported => EOPNOTSUPP,
            Error::Expired => ETIMEDOUT,
            Error::BadFd => EBADF,
            Error::Fault => EFAULT,
            Error::BadFdState => EBADFD,
        }
    }
}

/// Shorthand for results of the model.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping_matches_the_kernel() {
        assert_eq!(Error::AlreadySignaled.errno(), 2);
        assert_eq!(Error::Invalid("x").errno(), 22);
        assert_eq!(Error::Deadlock.errno(), 35);
        assert_eq!(Error::AlreadyLocked.errno(), 114);
        assert_eq!(Error::TimedOut.errno(), 62);
        assert_eq!(Error::Busy.errno(), 16);
        assert_eq!(Error::Interrupted.errno(), 4);
        assert_eq!(Error::NoMemory.errno(), 12);
        assert_eq!(Error::NotFound.errno(), 2);
        assert_eq!(Error::NotReserved.errno(), 28);
        assert_eq!(Error::NotTty.errno(), 25);
        assert_eq!(Error::Access.errno(), 13);
        assert_eq!(Error::NotSupported.errno(), 95);
        assert_eq!(Error::Expired.errno(), 110);
        assert_eq!(Error::BadFd.errno(), 9);
        assert_eq!(Error::Fault.errno(), 14);
        assert_eq!(Error::BadFdState.errno(), 77);
    }
}
