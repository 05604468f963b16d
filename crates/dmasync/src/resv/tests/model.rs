//! Property test: `add_fence`, `reserve_fences` and signalling against a
//! model that implements §3.3 literally (a linear scan over a vector).

use proptest::prelude::*;

use super::fence;
use crate::error::Error;
use crate::fence::{array_create, context_alloc, Fence};
use crate::resv::{Resv, Usage};

/// §3.3, word for word.
#[derive(Default)]
struct Model {
    list: Vec<(Fence, Usage)>,
    max: usize,
}

impl Model {
    fn reserve(&mut self, n: usize) -> Result<(), Error> {
        if n == 0 {
            return Err(Error::Invalid("reserve_fences(0)"));
        }
        let num = self.list.len();
        if self.max > 0 && num + n <= self.max {
            return Ok(());
        }
        self.max = if self.max > 0 {
            (num + n).max(2 * self.max)
        } else {
            n.next_power_of_two().max(4)
        };
        self.list.retain(|(f, _)| !f.is_signaled());
        Ok(())
    }

    fn add(&mut self, fence: Fence, usage: Usage) -> Result<(), Error> {
        for entry in self.list.iter_mut() {
            let (old, old_usage) = (&entry.0, entry.1);
            if (old.context() == fence.context()
                && old_usage >= usage
                && fence.is_later_or_same(old))
                || old.is_signaled()
            {
                *entry = (fence, usage);
                return Ok(());
            }
        }
        if self.list.len() >= self.max {
            return Err(Error::NotReserved);
        }
        self.list.push((fence, usage));
        Ok(())
    }

    /// A container: one reserved slot per leaf is checked first, then
    /// each leaf is added in turn.
    fn add_all(&mut self, leaves: &[Fence], usage: Usage) -> Result<(), Error> {
        if leaves.len() > self.max - self.list.len() {
            return Err(Error::NotReserved);
        }
        for leaf in leaves {
            self.add(leaf.clone(), usage)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Reserve(usize),
    Add {
        ctx: u64,
        seqno: u64,
        usage: u8,
    },
    Signal {
        ctx: u64,
        seqno: u64,
    },
    AddArray {
        a: (u64, u64),
        b: (u64, u64),
        usage: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4).prop_map(Op::Reserve),
        (1u64..5, 1u64..6, 0u8..4).prop_map(|(ctx, seqno, usage)| Op::Add { ctx, seqno, usage }),
        (1u64..5, 1u64..6).prop_map(|(ctx, seqno)| Op::Signal { ctx, seqno }),
        ((1u64..5, 1u64..6), (1u64..5, 1u64..6), 0u8..4).prop_map(|(a, b, usage)| Op::AddArray {
            a,
            b,
            usage
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn add_fence_matches_the_literal_model(ops in prop::collection::vec(op(), 1..60)) {
        // One fence per (context, seqno), so the same fence is re-added.
        let pool: Vec<Vec<Fence>> = (0..5).map(|c| (0..6).map(|s| fence(c, s)).collect()).collect();
        let resv = Resv::new();
        let mut model = Model::default();
        let mut g = resv.lock(None).unwrap();
        for op in ops {
            match op {
                Op::Reserve(n) => {
                    prop_assert_eq!(g.reserve_fences(n), model.reserve(n));
                    prop_assert_eq!(g.max_fences(), model.max);
                }
                Op::Add { ctx, seqno, usage } => {
                    let f = pool[ctx as usize][seqno as usize].clone();
                    let u = Usage::from_raw(u32::from(usage)).unwrap();
                    prop_assert_eq!(g.add_fence(f.clone(), u), model.add(f, u));
                }
                Op::Signal { ctx, seqno } => {
                    let _ = pool[ctx as usize][seqno as usize].signal();
                }
                Op::AddArray { a, b, usage } => {
                    let leaves = vec![
                        pool[a.0 as usize][a.1 as usize].clone(),
                        pool[b.0 as usize][b.1 as usize].clone(),
                    ];
                    let array = array_create(leaves.clone(), context_alloc(1), 1, false).unwrap();
                    let u = Usage::from_raw(u32::from(usage)).unwrap();
                    prop_assert_eq!(g.add_fence(array, u), model.add_all(&leaves, u));
                }
            }
            let got: Vec<(Fence, Usage)> =
                g.iter(Usage::Bookkeep).map(|(f, u)| (f.clone(), u)).collect();
            prop_assert_eq!(got.len(), model.list.len());
            for ((f, u), (mf, mu)) in got.iter().zip(&model.list) {
                prop_assert!(f.ptr_eq(mf));
                prop_assert_eq!(u, mu);
            }
        }
        drop(g);
        // The unlocked view agrees: the model's unsignalled entries, in order.
        let unlocked = resv.get_fences(Usage::Bookkeep);
        let expect: Vec<&Fence> =
            model.list.iter().map(|(f, _)| f).filter(|f| !f.is_signaled()).collect();
        prop_assert_eq!(unlocked.len(), expect.len());
        for (a, b) in unlocked.iter().zip(expect) {
            prop_assert!(a.ptr_eq(b));
        }
    }
}
