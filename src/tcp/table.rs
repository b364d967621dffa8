//! Where the connection table keeps its connections: a slab of slots, found
//! by 4-tuple through a hash table that holds only slot numbers.
//!
//! Why not a `HashMap<FlowKey, Conn>`: its buckets hold the 64-byte key and
//! the whole connection, a million connections need 2^21 of them (the load
//! factor rounds up to a power of two), and growing the map copies every
//! entry into a table twice the size while the old one is still alive. Here
//! a bucket is 4 bytes plus a control byte; connections live in a `Vec`
//! whose slots are reused, and which grows by reallocation (large blocks are
//! remapped, not copied, by the allocator) — so a SYN-only connection costs
//! its slot and a few bytes of index.

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

/// Normalised 4-tuple: the smaller endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey(SocketAddr, SocketAddr);

impl FlowKey {
    pub fn of(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b { FlowKey(a, b) } else { FlowKey(b, a) }
    }
}

fn hash(key: &FlowKey) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// A slot number in the table.
pub type Slot = u32;

/// What the table stores: anything that knows its 4-tuple.
pub trait Keyed {
    fn key(&self) -> FlowKey;
}

/// The connections currently tracked.
pub struct ConnTable<Conn> {
    slots: Vec<Option<Conn>>,
    /// Empty slots, reused before the vector grows.
    free: Vec<Slot>,
    index: HashTable<Slot>,
    len: usize,
}

impl<Conn> Default for ConnTable<Conn> {
    fn default() -> Self {
        ConnTable {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            len: 0,
        }
    }
}

impl<Conn: Keyed> ConnTable<Conn> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The slot of the connection on `key`, if one is tracked.
    pub fn find(&self, key: &FlowKey) -> Option<Slot> {
        let slots = &self.slots;
        self.index
            .find(hash(key), |&s| {
                slot_ref(slots, s).is_some_and(|c| c.key() == *key)
            })
            .copied()
    }

    pub fn get(&self, slot: Slot) -> Option<&Conn> {
        slot_ref(&self.slots, slot)
    }

    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut Conn> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// Tracks `conn` (no connection with its key may be tracked already).
    pub fn insert(&mut self, conn: Conn) -> Slot {
        let h = hash(&conn.key());
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(place) = self.slots.get_mut(s as usize) {
                    *place = Some(conn);
                }
                s
            }
            None => {
                self.slots.push(Some(conn));
                // More than 2^32 live slots cannot happen within any memory budget.
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let slots = &self.slots;
        self.index
            .insert_unique(h, slot, |&s| slot_ref(slots, s).map_or(0, |c| hash(&c.key())));
        self.len += 1;
        slot
    }

    /// Stops tracking the connection in `slot` and hands it back.
    pub fn remove(&mut self, slot: Slot) -> Option<Conn> {
        let key = self.get(slot)?.key();
        if let Ok(entry) = self.index.find_entry(hash(&key), |&s| s == slot) {
            entry.remove();
        }
        let conn = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        self.len -= 1;
        Some(conn)
    }

    /// Every tracked connection with its slot, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &Conn)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((u32::try_from(i).ok()?, c.as_ref()?)))
    }

    /// Forgets every connection and gives the memory back.
    pub fn clear(&mut self) {
        *self = ConnTable::default();
    }

    /// Heap bytes of the table itself (not what its connections hold):
    /// touched slots, free list, and index buckets with control bytes.
    pub fn heap_bytes(&self) -> usize {
        let slots = self
            .slots
            .len()
            .saturating_mul(std::mem::size_of::<Option<Conn>>());
        let free = self.free.capacity().saturating_mul(std::mem::size_of::<Slot>());
        // Buckets are a power of two at most 7/8 full: capacity * 8/7 of them.
        let index =
            (self.index.capacity().saturating_mul(8) / 7).saturating_mul(std::mem::size_of::<Slot>() + 1);
        slots.saturating_add(free).saturating_add(index)
    }
}

fn slot_ref<Conn>(slots: &[Option<Conn>], s: Slot) -> Option<&Conn> {
    slots.get(s as usize).and_then(Option::as_ref)
}
