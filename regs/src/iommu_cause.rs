/// A cause code the IOMMU writes into a fault record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FaultCause {
    /// "Read access fault": the translated read (or a PTE read for it) hit no memory.
    ReadAccessFault = 5,
    /// "Write/AMO access fault": the translated write (or a PTE read for it) hit no memory.
    WriteAccessFault = 7,
    /// "Read page fault".
    ReadPageFault = 13,
    /// "Write/AMO page fault".
    WritePageFault = 15,
    /// "All inbound transactions disallowed" (`ddtp` mode Off).
    AllDisallowed = 256,
    /// "DDT entry load access fault" (the device context lies outside RAM).
    DdtLoadAccessFault = 257,
    /// "DDT entry not valid" (the device context's V bit is 0).
    DdtEntryNotValid = 258,
    /// "DDT entry misconfigured" (reserved bits of the device context set).
    DdtMisconfigured = 259,
}

impl FaultCause {
    pub const ALL: [FaultCause; 8] = [
        FaultCause::ReadAccessFault,
        FaultCause::WriteAccessFault,
        FaultCause::ReadPageFault,
        FaultCause::WritePageFault,
        FaultCause::AllDisallowed,
        FaultCause::DdtLoadAccessFault,
        FaultCause::DdtEntryNotValid,
        FaultCause::DdtMisconfigured,
    ];

    pub const fn code(self) -> u32 {
        self as u32
    }

    pub fn from_code(code: u32) -> Option<FaultCause> {
        FaultCause::ALL.iter().copied().find(|c| *c as u32 == code)
    }

    /// The specification's name for the cause.
    pub fn name(self) -> &'static str {
        match self {
            FaultCause::ReadAccessFault => "read access fault",
            FaultCause::WriteAccessFault => "write/AMO access fault",
            FaultCause::ReadPageFault => "read page fault",
            FaultCause::WritePageFault => "write/AMO page fault",
            FaultCause::AllDisallowed => "all inbound transactions disallowed",
            FaultCause::DdtLoadAccessFault => "DDT entry load access fault",
            FaultCause::DdtEntryNotValid => "DDT entry not valid",
            FaultCause::DdtMisconfigured => "DDT entry misconfigured",
        }
    }
}
