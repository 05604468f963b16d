//! The importer/exporter contract rules of the dma-buf subsystem, C1 to C18
//! (kernel-spec.md section 9), as a registry the checker's findings point
//! into.
//!
//! Each [`Rule`] has an id, a one-line statement, where the kernel states it,
//! how the kernel enforces it, and what breaking it costs on real hardware.
//! The statements are our own summaries of the kernel documentation.

/// One contract rule.
///
/// Plain static data: no locking, lives for the whole program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `"C1"` to `"C18"`.
    pub id: &'static str,
    /// A short name, for report headings.
    pub title: &'static str,
    /// The rule in one line.
    pub statement: &'static str,
    /// Where the kernel states it.
    pub stated_in: &'static str,
    /// How the kernel enforces it (code, warning, lockdep, documentation).
    pub enforced: &'static str,
    /// What breaking it costs on real hardware.
    pub consequence: &'static str,
}

/// Every rule, in id order.
pub const RULES: [Rule; 18] = [
    Rule {
        id: "C1",
        title: "implicit sync rules",
        statement: "a driver adds a READ fence for every read and a WRITE fence for every write its UAPI does, and collects its implicit dependencies with usage_rw()",
        stated_in: "include/linux/dma-buf.h, struct dma_buf member resv; include/linux/dma-resv.h, enum dma_resv_usage and dma_resv_usage_rw()",
        enforced: "documentation; the core follows it in poll, begin_cpu_access and EXPORT_SYNC_FILE",
        consequence: "a device reads data that is still being written, or overwrites data that is still being read: tearing and corrupted frames",
    },
    Rule {
        id: "C2",
        title: "dynamic importer waits",
        statement: "a dynamic importer waits for the WRITE fences before its device touches the memory, and fences any access it cannot stop from move_notify",
        stated_in: "include/linux/dma-buf.h, resv member (dynamic importer rules); dma_buf_map_attachment() kernel-doc",
        enforced: "documentation: the core waits only for static importers",
        consequence: "the importer's device reads a buffer while another device still writes it",
    },
    Rule {
        id: "C3",
        title: "access before the move fence",
        statement: "moves and clears are published as KERNEL fences and every user that has not pinned the memory waits for them before touching it",
        stated_in: "include/linux/dma-resv.h, DMA_RESV_USAGE_KERNEL; struct dma_buf_ops pin and map_dma_buf docs",
        enforced: "code for static importers (dma_buf_map_attachment waits for KERNEL fences); documentation for dynamic importers",
        consequence: "the device reads memory before the clear or copy finished: another process's old data leaks, or the buffer's contents are garbage",
    },
    Rule {
        id: "C4",
        title: "pinned memory does not move",
        statement: "a static importer keeps the buffer pinned while mapped and the exporter never moves pinned memory; dynamic importers get move_notify instead",
        stated_in: "dma_buf_pin() kernel-doc; struct dma_buf_ops pin/unpin/map_dma_buf; struct dma_buf_attach_ops move_notify",
        enforced: "code: pin on map; warnings for pin without unpin and importer ops without move_notify",
        consequence: "a pinned importer, which waits for no fence, keeps reading or writing memory that has been moved and reused",
    },
    Rule {
        id: "C5",
        title: "move_notify protocol",
        statement: "the exporter calls move_notify with the reservation lock held; importers tear their mappings down as soon as possible and map again at the new place",
        stated_in: "struct dma_buf_attach_ops doc; drivers/dma-buf/dma-buf.c DOC: locking convention",
        enforced: "lockdep: dma_resv_assert_held in move_notify, map and unmap",
        consequence: "a mapping races with the move and the device keeps using the old location",
    },
    Rule {
        id: "C6",
        title: "dropped dependency (DAG rule)",
        statement: "a fence replaces another only if it is of the same context, not older and of no weaker usage; a fence that replaces others must signal after all of them",
        stated_in: "include/linux/dma-resv.h enum dma_resv_usage; dma_resv_add_fence() and dma_resv_replace_fences() kernel-doc; the old fence_excl documentation",
        enforced: "code: the replacement condition in dma_resv_add_fence(); the DAG rule of replace_fences is documentation only",
        consequence: "a waiter no longer sees the dropped fence: memory is freed or reused while a device still writes it (use after free)",
    },
    Rule {
        id: "C7",
        title: "no containers in a resv",
        statement: "a reservation object holds no container fences, arrays hold no containers, and chains link only through prev",
        stated_in: "checks in dma_resv_add_fence(), dma_fence_array_init(), dma_fence_chain_init(); dma_resv_get_singleton() kernel-doc",
        enforced: "warning",
        consequence: "unbounded recursion when the fences are walked: a kernel stack overflow",
    },
    Rule {
        id: "C8",
        title: "reserve before add",
        statement: "slots are reserved with the lock held before add_fence, and reserved again after any unlock",
        stated_in: "struct dma_resv fences doc; dma_resv_reserve_fences() kernel-doc",
        enforced: "code: BUG on overflow; debug builds shrink max_fences on unlock",
        consequence: "add_fence fails past the point of no return: a kernel BUG",
    },
    Rule {
        id: "C9",
        title: "locking convention",
        statement: "pin, unpin, map, unmap, vmap and move_notify are called with the reservation lock held; attach, detach, export, mmap and CPU access without it",
        stated_in: "drivers/dma-buf/dma-buf.c DOC: locking convention",
        enforced: "lockdep asserts",
        consequence: "deadlocks between importers and exporters, or mappings racing with moves",
    },
    Rule {
        id: "C10",
        title: "fence cross-driver contract",
        statement: "a fence signals in finite time, and nothing on the path to signalling waits for a fence, takes a reservation lock or allocates with reclaim",
        stated_in: "drivers/dma-buf/dma-fence.c DOC: fence cross-driver contract and DOC: fence signalling annotation",
        enforced: "lockdep: signalling annotations and the boot-time priming in dma-resv.c",
        consequence: "deadlock: the waiter holds what the signaller needs; every device and process waiting on the fence hangs until the timeout",
    },
    Rule {
        id: "C11",
        title: "no indefinite fences",
        statement: "no future, proxy or userspace-controlled fence is exposed as a dma_fence, even with a timeout",
        stated_in: "Documentation/driver-api/dma-buf.rst, Indefinite DMA Fences and Recoverable Hardware Page Faults Implications",
        enforced: "documentation",
        consequence: "memory management waits for ever on a fence nobody is bound to signal",
    },
    Rule {
        id: "C12",
        title: "error before signal",
        statement: "an error is set on a fence, as a negative errno, before the fence signals",
        stated_in: "dma_fence_set_error() kernel-doc",
        enforced: "warning (the value is still stored)",
        consequence: "waiters already saw success and consumed the result of a failed job",
    },
    Rule {
        id: "C13",
        title: "safe access after signal",
        statement: "driver data of a fence may be freed after it signals; accessors stay inside one RCU section",
        stated_in: "include/linux/dma-fence.h DOC: Safe external access to driver provided object members",
        enforced: "code in the newest kernels: fixed names and a cleared ops pointer once signalled",
        consequence: "use after free of the driver's name strings or ops",
    },
    Rule {
        id: "C14",
        title: "callback context",
        statement: "enable_signaling runs under the fence lock with interrupts off and holds its own reference; callbacks may run in interrupt context",
        stated_in: "struct dma_fence_ops docs; dma_fence_add_callback() kernel-doc",
        enforced: "documentation",
        consequence: "sleeping in atomic context, or a fence freed under its own callback",
    },
    Rule {
        id: "C15",
        title: "explicit and implicit sync",
        statement: "explicit sync passes fences through userspace; explicit submissions add BOOKKEEP fences and are bridged to implicit consumers with IMPORT_SYNC_FILE, and back with EXPORT_SYNC_FILE",
        stated_in: "dma-fence.c DOC: DMA fences overview; DMA_RESV_USAGE_BOOKKEEP; include/uapi/linux/dma-buf.h export/import structs",
        enforced: "code for the ioctls; documentation for the rest",
        consequence: "a consumer that waits only for implicit fences never sees the explicit producer's fence: it reads an unfinished frame",
    },
    Rule {
        id: "C16",
        title: "bracketed CPU access",
        statement: "userspace CPU access to a dma-buf is bracketed by DMA_BUF_IOCTL_SYNC START and END",
        stated_in: "drivers/dma-buf/dma-buf.c DOC: cpu access; struct dma_buf_ops mmap",
        enforced: "documentation",
        consequence: "the CPU reads stale or half-written data, or its writes race with a device",
    },
    Rule {
        id: "C17",
        title: "exporter obligations",
        statement: "map_dma_buf, unmap_dma_buf and release are mandatory; returned tables are page aligned and owned by the caller",
        stated_in: "struct dma_buf_ops docs",
        enforced: "warning at export; the core bounds-checks mmap",
        consequence: "importers program their devices with wrong or stale addresses",
    },
    Rule {
        id: "C18",
        title: "seqnos increase within a context",
        statement: "the fences of one context are created with increasing seqnos and signal in that order (32-bit wrap window for legacy fences)",
        stated_in: "dma_fence_init() kernel-doc; the __dma_fence_is_later comment",
        enforced: "documentation; chains start a new context on non-increasing points",
        consequence: "is_later and the reservation object's replacement rule order fences wrongly: a waiter keeps an older fence and misses the newer one, or drops the pending one",
    },
];

/// The rule with this id (`"C6"`), if there is one.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_c1_to_c18_in_order() {
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.id, format!("C{}", i + 1));
            assert!(!r.statement.is_empty() && !r.stated_in.is_empty());
            assert!(!r.consequence.is_empty() && !r.title.is_empty());
        }
        assert_eq!(
            rule("C6").map(|r| r.title),
            Some("dropped dependency (DAG rule)")
        );
        assert!(rule("C19").is_none());
    }
}
