//! Adding and updating members: ZADD's options and outcomes, and the move to
//! the big encoding when an insert passes a listpack threshold.

use std::mem;

use bytes::Bytes;

use super::{Encoding, SkipList, ZSet, ZsetError};

/// Thresholds of the compact encoding; the engine's CONFIG owns them
/// (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListpackLimits {
    /// Most elements a listpack holds.
    pub max_entries: usize,
    /// Longest member, in bytes, a listpack holds.
    pub max_value: usize,
}

impl Default for ListpackLimits {
    /// Redis's defaults: 128 entries, 64-byte members.
    fn default() -> Self {
        ListpackLimits {
            max_entries: 128,
            max_value: 64,
        }
    }
}

/// What an insert did to the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The member is new.
    Added,
    /// The member was there with another score.
    Updated,
    /// The member was there with an equal score (`-0` equals `0`).
    Unchanged,
}

/// ZADD's options; which combinations are legal is the command's business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update a member whose new score is greater.
    pub gt: bool,
    /// Only update a member whose new score is less.
    pub lt: bool,
    /// Add the score to the current one (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

/// What [`ZSet::add`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// The set was consulted and, unless `Unchanged`, changed; `score` is the
    /// one computed for the member (what ZINCRBY replies).
    Applied { change: InsertOutcome, score: f64 },
    /// A flag (NX, XX, GT, LT) ruled the change out; ZADD INCR replies nil.
    Skipped,
}

impl ZSet {
    /// Sets a member's score, adding the member if it is new.
    ///
    /// # Errors
    /// [`ZsetError::NanScore`] if `score` is NaN; the set is left as it was.
    pub fn insert(
        &mut self,
        member: &[u8],
        score: f64,
        limits: ListpackLimits,
    ) -> Result<InsertOutcome, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let current = self.score(member);
        Ok(self.upsert(member, score, current, limits))
    }

    /// ZADD for one member: [`insert`](Self::insert) under `flags`.
    ///
    /// # Errors
    /// [`ZsetError::NanScore`] if `score` is NaN or the increment makes it NaN;
    /// the set is left as it was.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: ListpackLimits,
    ) -> Result<AddOutcome, ZsetError> {
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let current = self.score(member);
        let score = match current {
            None if flags.xx => return Ok(AddOutcome::Skipped),
            Some(_) if flags.nx => return Ok(AddOutcome::Skipped),
            Some(now) if flags.incr => now + score,
            _ => score,
        };
        if score.is_nan() {
            return Err(ZsetError::NanScore);
        }
        let ruled_out =
            current.is_some_and(|now| (flags.lt && score >= now) || (flags.gt && score <= now));
        if ruled_out {
            return Ok(AddOutcome::Skipped);
        }
        let change = self.upsert(member, score, current, limits);
        Ok(AddOutcome::Applied { change, score })
    }

    /// Stores `score` for `member`, whose score is `current`.
    fn upsert(
        &mut self,
        member: &[u8],
        score: f64,
        current: Option<f64>,
        limits: ListpackLimits,
    ) -> InsertOutcome {
        match current {
            Some(now) if now == score => InsertOutcome::Unchanged,
            Some(_) => {
                match &mut self.encoding {
                    Encoding::Listpack(lp) => lp.update(member, score),
                    Encoding::Skiplist(sl) => sl.update(member, score),
                }
                InsertOutcome::Updated
            }
            None => {
                self.insert_new(member, score, limits);
                InsertOutcome::Added
            }
        }
    }

    /// Adds a member not in the set, converting to the big encoding first if
    /// this member would pass a listpack threshold.
    fn insert_new(&mut self, member: &[u8], score: f64, limits: ListpackLimits) {
        if let Encoding::Listpack(lp) = &mut self.encoding {
            if lp.len() >= limits.max_entries || member.len() > limits.max_value {
                let entries = mem::take(lp).into_entries();
                self.encoding = Encoding::Skiplist(Box::new(SkipList::from_sorted(entries)));
            }
        }
        let member = Bytes::copy_from_slice(member);
        match &mut self.encoding {
            Encoding::Listpack(lp) => lp.insert(member, score),
            Encoding::Skiplist(sl) => sl.insert(member, score),
        }
    }
}
