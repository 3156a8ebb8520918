//! The board's reset: the PLL's lock and the reset button, synchronized to the core clock and
//! stretched.
//!
//! ```text
//!  locked   ─►┐                ┌──────────┐
//!  button_n ─►┴─ !(l & b) ─►FF─►FF─► hold │─► reset (registered)
//!  clock    ─►                 │ 15 cycles│
//!                              └──────────┘
//! ```
//!
//! `reset` is high from power-up (the flip-flops start asserted), while the PLL is not locked or
//! the button (active low) is pressed, and falls 18 cycles after both are released: two
//! synchronizer flip-flops (the button is asynchronous to the core clock, and so is `LOCK`),
//! 15 cycles of hold, the output register.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ResetSync {
    pub clock: Signal<In, Clock>,
    pub locked: Signal<In, Bit>,
    pub button_n: Signal<In, Bit>,
    pub reset: Signal<Out, Bit>,
    meta: DFFWithInit<Bit>,
    sync: DFFWithInit<Bit>,
    hold: DFFWithInit<Bits<4>>,
    out: DFFWithInit<Bit>,
}

impl Default for ResetSync {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            locked: Default::default(),
            button_n: Default::default(),
            reset: Default::default(),
            meta: DFFWithInit::new(true),
            sync: DFFWithInit::new(true),
            hold: DFFWithInit::new(15.into()),
            out: DFFWithInit::new(true),
        }
    }
}

impl Logic for ResetSync {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, meta, sync, hold, out);
        self.meta.d.next = !(self.locked.val() & self.button_n.val());
        self.sync.d.next = self.meta.q.val();
        if self.sync.q.val() {
            self.hold.d.next = 15.into();
        } else if self.hold.q.val() != 0 {
            self.hold.d.next = self.hold.q.val() - 1;
        }
        self.out.d.next = self.sync.q.val() | (self.hold.q.val() != 0);
        self.reset.next = self.out.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{clock_edge, settle};

    fn run(r: &mut ResetSync, locked: bool, button_n: bool, cycles: usize) -> Vec<bool> {
        (0..cycles)
            .map(|_| {
                r.locked.next = locked;
                r.button_n.next = button_n;
                settle(r);
                let v = r.reset.val();
                clock_edge(r, |u| &mut u.clock);
                v
            })
            .collect()
    }

    #[test]
    fn reset_is_held_from_power_up_until_18_cycles_after_lock_and_button() {
        let mut r = ResetSync::default();
        r.connect_all();
        assert!(
            run(&mut r, false, true, 50).iter().all(|&x| x),
            "not locked"
        );
        let after = run(&mut r, true, true, 40);
        let high = after.iter().take_while(|&&x| x).count();
        // 2 synchronizer stages, 15 cycles of hold, the output register.
        assert_eq!(high, 2 + 15 + 1);
        assert!(after[high..].iter().all(|&x| !x));
        // A press of one cycle is enough to reset.
        let press = run(&mut r, true, false, 1);
        assert!(!press[0], "the press is seen through the synchronizer");
        let after = run(&mut r, true, true, 40);
        // A one-cycle press: high for the synchronizer's last stage and 15 cycles of hold.
        assert_eq!(after.iter().filter(|&&x| x).count(), 1 + 15);
        assert!(!after[39]);
    }
}
