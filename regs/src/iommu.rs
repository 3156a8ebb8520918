/// RO. Bits 7:0 version (0x10 = 1.0 as in the spec), bit 8 Sv32; bits 23:16 IOTLB entries,
/// bits 27:24 device-ID bits (this design's own fields, in bits the spec reserves here).
pub const CAPS: u32 = 0x00;
/// RW. Device-directory-table pointer: bits 3:0 mode ([`ddtp`]), bits 31:10 PPN of the
/// table. Reset: Bare. A write flushes the device-context cache and the IOTLB.
pub const DDTP: u32 = 0x10;
/// RW. Command queue base: bits 4:0 log2(entries) - 1, bits 31:10 PPN.
pub const CQB: u32 = 0x18;
/// RO. Command queue head: index of the next command the IOMMU will execute.
pub const CQH: u32 = 0x20;
/// RW. Command queue tail: software writes the index after its last command.
pub const CQT: u32 = 0x24;
/// RW. Fault queue base: bits 4:0 log2(entries) - 1, bits 31:10 PPN.
pub const FQB: u32 = 0x28;
/// RW. Fault queue head: software writes the index after the last record it has read.
pub const FQH: u32 = 0x30;
/// RO. Fault queue tail: index of the slot the next record goes into.
pub const FQT: u32 = 0x34;
/// RW / RW1C. Command queue control and status ([`cqcsr`]).
pub const CQCSR: u32 = 0x48;
/// RW / RW1C. Fault queue control and status ([`fqcsr`]).
pub const FQCSR: u32 = 0x4C;
/// RW1C. Interrupt pending: bit 0 CIP (command queue), bit 1 FIP (fault queue).
pub const IPSR: u32 = 0x54;
/// RO. Device accesses translated by an IOTLB hit.
pub const IOTLB_HITS: u32 = 0x100;
/// RO. Device accesses that missed the IOTLB and started a page walk.
pub const IOTLB_MISSES: u32 = 0x104;
/// RO. Cycles spent walking page tables (PTE and device-context reads, waits included).
pub const WALK_CYCLES: u32 = 0x108;
/// RO. Faults detected (recorded or not).
pub const FAULTS: u32 = 0x10C;
/// RO. Faults whose record was discarded (queue off, full, or its address outside RAM).
pub const FAULTS_DROPPED: u32 = 0x110;
/// RO. Commands executed.
pub const COMMANDS: u32 = 0x114;
/// RO. Device-context fetches (device-context cache misses).
pub const DC_FETCHES: u32 = 0x118;
/// WO. Bit 0: clear the IOMMU's counters (those above and [`WALKS_RESTARTED`]).
pub const CNT_CTRL: u32 = 0x11C;
/// RO. Device-context fetches and page walks abandoned because `DDTP` was written while
/// they were in flight; the device's access was then translated again under the new
/// `DDTP` (nothing fetched under the old one is cached, used or reported).
pub const WALKS_RESTARTED: u32 = 0x120;

/// The counters, in the order of the IOMMU's counter cells (`counters[i]` in
/// `rtl/src/iommu/mod.rs` counts what `COUNTERS[i]` reads): hits, misses, walk cycles,
/// faults, faults dropped, commands, device-context fetches, walks restarted.
pub const COUNTERS: [u32; 8] = [
    IOTLB_HITS,
    IOTLB_MISSES,
    WALK_CYCLES,
    FAULTS,
    FAULTS_DROPPED,
    COMMANDS,
    DC_FETCHES,
    WALKS_RESTARTED,
];

/// `CAPS` value for a design with `iotlb_entries` IOTLB entries.
pub const fn caps(iotlb_entries: u32) -> u32 {
    0x10 | (1 << 8) | (iotlb_entries << 16) | (DEVICE_ID_BITS << 24)
}

/// The walker FSM's states in encoding order (the `obs_iommu_state` pin), for waveforms
/// and error messages.
pub const STATE_NAMES: [&str; 14] = [
    "Idle",
    "DcFetch",
    "DcCheck",
    "PteRead1",
    "PteWait1",
    "PteRead0",
    "PteWait0",
    "FaultStart",
    "FaultWrite",
    "FaultDone",
    "CmdFetch",
    "CmdExec",
    "FenceWrite",
    "CmdDone",
];

/// IOTLB entries in the SoC builds (the rtl's `Iotlb` takes any size from 1 to 255).
pub const IOTLB_ENTRIES: u32 = 8;

/// Device IDs are this wide: up to 4 requesters.
pub const DEVICE_ID_BITS: u32 = 2;
/// Device ID of the memcpy channel 0.
pub const DEVICE_MEMCPY0: u32 = 0;
/// Device ID of the memcpy channel 1.
pub const DEVICE_MEMCPY1: u32 = 1;
/// Device ID reserved for the NIC.
pub const DEVICE_NIC: u32 = 2;

/// Fields of `DDTP`.
pub mod ddtp {
    pub const MODE_MASK: u32 = 0xF;
    /// All device DMA refused; each refusal is a fault (cause 256).
    pub const MODE_OFF: u32 = 0;
    /// No translation: IOVA = physical address (`iommu=off`).
    pub const MODE_BARE: u32 = 1;
    /// One-level device directory table at PPN: per-device Bare or Sv32.
    pub const MODE_1LVL: u32 = 2;
    pub const PPN_SHIFT: u32 = 10;

    pub const fn new(mode: u32, table_pa: u32) -> u32 {
        (mode & MODE_MASK) | ((table_pa >> 12) << PPN_SHIFT)
    }
}

/// Fields of `CQB` and `FQB`: a queue of 2^(LOG2SZM1 + 1) entries at PPN.
pub mod qb {
    pub const LOG2SZM1_MASK: u32 = 0x1F;
    pub const PPN_SHIFT: u32 = 10;

    /// A queue of `entries` (a power of two, at least 2) at page-aligned `base_pa`.
    pub const fn new(base_pa: u32, entries: u32) -> u32 {
        (entries.trailing_zeros() - 1) | ((base_pa >> 12) << PPN_SHIFT)
    }
}

/// Fields of `CQCSR`.
pub mod cqcsr {
    /// RW. Command queue enable; 0 → 1 resets `CQH` to 0 and clears `CQMF`, `CMD_ILL` and
    /// `FENCE_W_IP`.
    pub const CQEN: u32 = 1 << 0;
    /// RW. Interrupt enable for `IPSR.CIP`.
    pub const CIE: u32 = 1 << 1;
    /// RW1C. A command fetch or `IOFENCE.C` write hit no memory; execution stops.
    pub const CQMF: u32 = 1 << 8;
    /// RW1C. An illegal command at `CQH`; execution stops until cleared.
    pub const CMD_ILL: u32 = 1 << 10;
    /// RW1C. An `IOFENCE.C` with WSI=1 completed.
    pub const FENCE_W_IP: u32 = 1 << 11;
    /// RO. The queue is active.
    pub const CQON: u32 = 1 << 16;
    /// RO. Commands are waiting to be executed (CQH != CQT, the queue on and not stopped),
    /// whether or not the walker has started on them.
    pub const BUSY: u32 = 1 << 17;
}

/// Fields of `FQCSR`.
pub mod fqcsr {
    /// RW. Fault queue enable; 0 → 1 resets `FQT` to 0 and clears `FQOF` and `FQMF`. Off:
    /// records are discarded.
    pub const FQEN: u32 = 1 << 0;
    /// RW. Interrupt enable for `IPSR.FIP`.
    pub const FIE: u32 = 1 << 1;
    /// RW1C. A record's address was outside RAM; the record was discarded. While set,
    /// every new record is discarded (counted in `FAULTS_DROPPED`).
    pub const FQMF: u32 = 1 << 8;
    /// RW1C. The queue was full; a record was discarded (unread ones are never
    /// overwritten). While set, every new record is discarded, as in the specification.
    pub const FQOF: u32 = 1 << 9;
    /// RO. The queue is active.
    pub const FQON: u32 = 1 << 16;
}

/// Fields of `IPSR` (write 1 to clear).
pub mod ipsr {
    pub const CIP: u32 = 1 << 0;
    pub const FIP: u32 = 1 << 1;
}

/// Fields of `CNT_CTRL`.
pub const CNT_CLEAR: u32 = 1 << 0;

/// Device context: 8 bytes at `DDT + device_id * 8`.
///
/// ```text
/// +0x0 TC   bit 0 V (valid); bits 31:1 reserved (must be 0: else cause 259)
/// +0x4 FSC  bit 31 MODE (0 Bare = passthrough, 1 Sv32); bits 21:0 PPN of the root table;
///           bits 30:22 reserved (must be 0)
/// ```
pub mod dc {
    pub const BYTES: u32 = 8;
    pub const TC: u32 = 0x0;
    pub const FSC: u32 = 0x4;
    pub const TC_V: u32 = 1 << 0;
    pub const TC_RESERVED: u32 = !TC_V;
    pub const FSC_SV32: u32 = 1 << 31;
    pub const FSC_PPN_MASK: u32 = 0x003F_FFFF;
    pub const FSC_RESERVED: u32 = !(FSC_SV32 | FSC_PPN_MASK);

    /// FSC of a device translated through the Sv32 tables rooted at `root_pa`.
    pub const fn fsc_sv32(root_pa: u32) -> u32 {
        FSC_SV32 | (root_pa >> 12)
    }
}

/// Fault record: 32 bytes, the RISC-V IOMMU layout cut to 32-bit words.
///
/// ```text
/// +0x00 bits 11:0 CAUSE, 31:12 PID (0)
/// +0x04 bit 0 PV (0), bit 1 PRIV (0), bits 7:2 TTYP, bits 31:8 DID
/// +0x08 reserved (0)      +0x0C custom (0)
/// +0x10 IOTVAL = IOVA     +0x14 IOTVAL[63:32] (0)
/// +0x18 IOTVAL2 (0)       +0x1C IOTVAL2[63:32] (0)
/// ```
pub mod fault {
    pub const BYTES: u32 = 32;
    pub const WORDS: u32 = BYTES / 4;
    pub const CAUSE_MASK: u32 = 0xFFF;
    pub const TTYP_SHIFT: u32 = 2;
    pub const TTYP_MASK: u32 = 0x3F << TTYP_SHIFT;
    pub const DID_SHIFT: u32 = 8;
    /// Word index of IOTVAL.
    pub const IOTVAL_WORD: usize = 4;
    /// Transaction type: untranslated read.
    pub const TTYP_READ: u32 = 2;
    /// Transaction type: untranslated write.
    pub const TTYP_WRITE: u32 = 3;
}

/// Commands: 16 bytes, the RISC-V IOMMU layout cut to 32-bit words (word 1 is bits 63:32
/// of the spec's first doubleword, word 2 the low half of the second).
///
/// ```text
///                 word 0                          word 1            word 2
/// IOTINVAL.VMA    opcode 1, func3 0, AV bit 10     GV bit 1,         ADDR[33:12] in 31:10
///                                                  GSCID (= device)
///                                                  in 27:12
/// IOFENCE.C       opcode 2, func3 0, AV bit 10,    DATA              ADDR[31:2] in 31:2
///                 WSI bit 11
/// IODIR.INVAL_DDT opcode 3, func3 0                DV bit 1,
///                                                  DID in 31:8
/// ```
pub mod cmd {
    pub const BYTES: u32 = 16;
    pub const WORDS: u32 = BYTES / 4;
    pub const OPCODE_MASK: u32 = 0x7F;
    pub const FUNC3_SHIFT: u32 = 7;
    pub const FUNC3_MASK: u32 = 0x7 << FUNC3_SHIFT;
    pub const OP_IOTINVAL: u32 = 1;
    pub const OP_IOFENCE: u32 = 2;
    pub const OP_IODIR: u32 = 3;
    /// word 0: the address field is valid.
    pub const AV: u32 = 1 << 10;
    /// word 0 of IOFENCE.C: signal completion by `IPSR.CIP` / `CQCSR.FENCE_W_IP`.
    pub const WSI: u32 = 1 << 11;
    /// word 1 of IOTINVAL: GSCID (the device ID here) is valid.
    pub const GV: u32 = 1 << 1;
    pub const GSCID_SHIFT: u32 = 12;
    /// word 1 of IODIR: DID is valid.
    pub const DV: u32 = 1 << 1;
    pub const DID_SHIFT: u32 = 8;
    pub const ADDR_PPN_SHIFT: u32 = 10;

    /// IOTINVAL.VMA: every entry (`None, None`), a device's entries, an address's entries
    /// in every device, or one device's entries for one address.
    pub const fn iotinval_vma(device: Option<u32>, iova: Option<u32>) -> [u32; 4] {
        let mut w = [OP_IOTINVAL, 0, 0, 0];
        if let Some(d) = device {
            w[1] = GV | (d << GSCID_SHIFT);
        }
        if let Some(a) = iova {
            w[0] |= AV;
            w[2] = (a >> 12) << ADDR_PPN_SHIFT;
        }
        w
    }

    /// IOFENCE.C: completes after every earlier command; then writes `data` to `addr`
    /// (if given) and, with `wsi`, sets `IPSR.CIP`.
    pub const fn iofence_c(write: Option<(u32, u32)>, wsi: bool) -> [u32; 4] {
        let mut w = [OP_IOFENCE, 0, 0, 0];
        if let Some((addr, data)) = write {
            w[0] |= AV;
            w[1] = data;
            w[2] = addr & !3;
        }
        if wsi {
            w[0] |= WSI;
        }
        w
    }

    /// IODIR.INVAL_DDT: forget the cached device context of `device`, or of all.
    pub const fn iodir_inval_ddt(device: Option<u32>) -> [u32; 4] {
        let mut w = [OP_IODIR, 0, 0, 0];
        if let Some(d) = device {
            w[1] = DV | (d << DID_SHIFT);
        }
        w
    }
}
