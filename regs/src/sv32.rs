/// 4 KiB pages.
pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;
/// Two levels: level 1 (root, indexed by `VPN[1]`) and level 0 (indexed by `VPN[0]`).
pub const LEVELS: u32 = 2;
/// Bytes per PTE.
pub const PTE_SIZE: u32 = 4;
/// Width of each VPN field; a page table has `1 << VPN_BITS` entries and fills one page.
pub const VPN_BITS: u32 = 10;
pub const PTES_PER_TABLE: u32 = 1 << VPN_BITS;
pub const VPN_MASK: u32 = PTES_PER_TABLE - 1;
pub const VPN0_SHIFT: u32 = PAGE_SHIFT;
pub const VPN1_SHIFT: u32 = PAGE_SHIFT + VPN_BITS;
/// A leaf at level 1 maps a 4 MiB superpage ("megapage"), which must be virtually and
/// physically aligned to 4 MiB.
pub const SUPERPAGE_SHIFT: u32 = VPN1_SHIFT;
pub const SUPERPAGE_SIZE: u32 = 1 << SUPERPAGE_SHIFT;
/// Sv32 produces 34-bit physical addresses from a 22-bit PPN.
pub const PA_BITS: u32 = 34;
pub const PPN_BITS: u32 = PA_BITS - PAGE_SHIFT;

/// `VPN[1]` of a 32-bit IOVA (bits 31:22): the index into the root table.
pub const fn vpn1(iova: u32) -> u32 {
    iova >> VPN1_SHIFT
}

/// `VPN[0]` of a 32-bit IOVA (bits 21:12): the index into a level-0 table.
pub const fn vpn0(iova: u32) -> u32 {
    (iova >> VPN0_SHIFT) & VPN_MASK
}

/// `VPN[level]` (`level` 1 or 0).
pub const fn vpn(iova: u32, level: u32) -> u32 {
    (iova >> (PAGE_SHIFT + VPN_BITS * level)) & VPN_MASK
}

/// Bits 11:0 of an IOVA: not translated.
pub const fn page_offset(iova: u32) -> u32 {
    iova & (PAGE_SIZE - 1)
}

/// Bits 21:0 of an IOVA: the offset inside a 4 MiB superpage.
pub const fn superpage_offset(iova: u32) -> u32 {
    iova & (SUPERPAGE_SIZE - 1)
}

/// Physical address of page `ppn` (22 bits): a 34-bit address.
pub const fn ppn_to_pa(ppn: u32) -> u64 {
    ((ppn & ((1 << PPN_BITS) - 1)) as u64) << PAGE_SHIFT
}

/// Page number of a physical address (`pa` below 2^34).
pub const fn pa_to_ppn(pa: u64) -> u32 {
    (pa >> PAGE_SHIFT) as u32
}

/// Address of the PTE for `iova` at `level` in the table at page `table_ppn`
/// (`table_ppn * PAGE_SIZE + VPN[level] * PTE_SIZE`).
pub const fn pte_addr(table_ppn: u32, iova: u32, level: u32) -> u64 {
    ppn_to_pa(table_ppn) + (vpn(iova, level) * PTE_SIZE) as u64
}

/// Page-table entry fields.
pub mod pte {
    /// Valid. If 0 the other bits are don't-cares (free for software).
    pub const V: u32 = 1 << 0;
    /// Readable.
    pub const R: u32 = 1 << 1;
    /// Writable. W=1 with R=0 is reserved.
    pub const W: u32 = 1 << 2;
    /// Executable. R=W=X=0 means "pointer to the next level"; any of R or X set is a leaf.
    pub const X: u32 = 1 << 3;
    /// User-mode accessible.
    pub const U: u32 = 1 << 4;
    /// Global mapping.
    pub const G: u32 = 1 << 5;
    /// Accessed.
    pub const A: u32 = 1 << 6;
    /// Dirty (written).
    pub const D: u32 = 1 << 7;
    /// Reserved for supervisor software; the hardware ignores it.
    pub const RSW_SHIFT: u32 = 8;
    pub const RSW_MASK: u32 = 0x3 << RSW_SHIFT;
    /// All flag bits 7:0.
    pub const FLAGS_MASK: u32 = 0xFF;
    /// R, W and X.
    pub const RWX: u32 = R | W | X;

    /// The 22-bit PPN, bits 31:10.
    pub const PPN_SHIFT: u32 = 10;
    pub const PPN_MASK: u32 = 0xFFFF_FC00;
    /// `PPN[0]`, bits 19:10 (10 bits).
    pub const PPN0_SHIFT: u32 = 10;
    pub const PPN0_MASK: u32 = 0x3FF << PPN0_SHIFT;
    /// `PPN[1]`, bits 31:20 (12 bits).
    pub const PPN1_SHIFT: u32 = 20;
    pub const PPN1_MASK: u32 = 0xFFF << PPN1_SHIFT;

    /// A PTE pointing at page `ppn` with `flags` (bits 9:0).
    pub const fn new(ppn: u32, flags: u32) -> u32 {
        (ppn << PPN_SHIFT) | (flags & !PPN_MASK)
    }

    /// The full 22-bit PPN.
    pub const fn ppn(pte: u32) -> u32 {
        pte >> PPN_SHIFT
    }

    /// `PPN[0]` (10 bits). In the PPN it is bits 9:0.
    pub const fn ppn0(pte: u32) -> u32 {
        (pte & PPN0_MASK) >> PPN0_SHIFT
    }

    /// `PPN[1]` (12 bits). In the PPN it is bits 21:10.
    pub const fn ppn1(pte: u32) -> u32 {
        (pte & PPN1_MASK) >> PPN1_SHIFT
    }

    /// Physical address of the page (or next-level table) the PTE points at (34 bits).
    pub const fn pa(pte: u32) -> u64 {
        super::ppn_to_pa(ppn(pte))
    }

    /// R or X set: a leaf. Otherwise (with V=1) a pointer to the next level.
    pub const fn is_leaf(pte: u32) -> bool {
        pte & (R | X) != 0
    }

    /// R=0 and W=1: a reserved encoding.
    pub const fn is_reserved_rw(pte: u32) -> bool {
        pte & (R | W) == W
    }
}
