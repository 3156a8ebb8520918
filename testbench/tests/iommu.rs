//! IOMMU system tests: the memcpy channel through the Linux-style DMA API on the Verilator
//! model. Every test logs every DMA-side bus beat from the pins and checks each one against
//! the reference Sv32 walk and against the driver's live mappings (docs/verification.md,
//! "1. Shadow memory" and "2. No untranslated address from a translated device"), and checks
//! that no IOMMU write leaves its queues.

use driver::dma::{Dma, DmaAddr, DmaConfig, DmaDirection, DomainType, Invalidation, IommuPolicy};
use driver::dmac::{Completion, Dmac, DmacError, Outcome};
use driver::iommu::{DeviceId, FaultAccess, FaultCode, FaultRecord, Iommu, IommuMode};
use driver::pgtable::{PageTable, Perm};
use driver::{Device, PageAllocator};
use pretty_assertions::assert_eq;
use rand::{Rng, SeedableRng};
use regs::dmac::Cause;
use regs::iommu_cause::FaultCause;
use regs::PAGE_BYTES;
use sim::Soc;
use testbench::iommu_check::{check_beats, ram_snapshot, Allowed, BeatSummary, DeviceView};
use testbench::{new_soc, WORKLOAD_BASE};

const DEV: DeviceId = DeviceId::MEMCPY0;

struct Rig {
    soc: Soc,
    dma: Dma,
    dmac: Dmac,
    /// Devices whose accesses the shadow check does not restrict (Bare: the attack demo).
    unprotected: Vec<u8>,
}

fn config(policy: IommuPolicy, invalidation: Invalidation, fq_entries: u32) -> DmaConfig {
    DmaConfig {
        policy,
        invalidation,
        fault_queue_entries: fq_entries,
        ..DmaConfig::default()
    }
}

impl Rig {
    fn new(cfg: DmaConfig) -> Rig {
        let mut soc = new_soc();
        let mut mm = PageAllocator::from_device(&mut soc).expect("allocator");
        mm.reserve(WORKLOAD_BASE, 0x1_0000 / PAGE_BYTES)
            .expect("workload region");
        let mut dma = Dma::init(&mut soc, mm, cfg).expect("DMA layer");
        dma.attach(&mut soc, DEV).expect("attach");
        soc.set_dma_log(true);
        Rig {
            soc,
            dma,
            dmac: Dmac::new().with_timeout(200_000),
            unprotected: vec![],
        }
    }

    fn on() -> Rig {
        Rig::new(config(IommuPolicy::On, Invalidation::Strict, 64))
    }

    /// Runs `f` on the IOMMU behind the DMA layer's back, with the page allocator the layer
    /// owns.
    fn iommu_with_mm<R>(
        &mut self,
        f: impl FnOnce(&mut Iommu, &mut Soc, &mut PageAllocator) -> R,
    ) -> R {
        let (iommu, mm) = self.dma.iommu_and_mm();
        f(iommu, &mut self.soc, mm)
    }

    /// A buffer of `bytes` (whole pages) filled with a pattern from `seed`.
    fn buffer(&mut self, bytes: u32, seed: u64) -> (u32, Vec<u32>) {
        let pa = self.dma.mm_mut().alloc_bytes(bytes).expect("buffer");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let words: Vec<u32> = (0..bytes / 4).map(|_| rng.gen()).collect();
        self.soc.write_words(pa, &words);
        (pa, words)
    }

    fn read(&mut self, pa: u32, bytes: u32) -> Vec<u32> {
        let mut out = vec![0; (bytes / 4) as usize];
        self.soc.read_words(pa, &mut out);
        out
    }

    fn map(&mut self, pa: u32, len: u32, dir: DmaDirection) -> DmaAddr {
        self.dma
            .try_map_single(&mut self.soc, DEV, pa, len, dir)
            .expect("map_single")
    }

    fn unmap(&mut self, addr: DmaAddr, len: u32, dir: DmaDirection) {
        self.dma
            .unmap_single(&mut self.soc, DEV, addr, len, dir)
            .expect("unmap_single");
    }

    fn copy(&mut self, src: DmaAddr, dst: DmaAddr, len: u32) -> Result<Outcome, DmacError> {
        self.dmac
            .memcpy(&mut self.soc, src.0, dst.0, len, Completion::Irq)
    }

    fn view(&self, dev: u8) -> DeviceView {
        let id = DeviceId(dev as u32);
        match self.dma.domain_type(id) {
            Some(DomainType::Translated) => DeviceView::Sv32 {
                root_ppn: self.dma.page_table(id).expect("table").root_pa() >> 12,
            },
            Some(DomainType::Identity) => DeviceView::Bare,
            None => match self.dma.iommu().mode() {
                IommuMode::Bare => DeviceView::Bare,
                _ => DeviceView::Blocked,
            },
        }
    }

    /// The scoreboard over every beat since the last check; the page tables and mappings must
    /// be the ones those beats used.
    fn check(&mut self) -> BeatSummary {
        let beats = self.soc.take_dma_log();
        let writable = testbench::iommu_writable(&mut self.soc);
        let ram = ram_snapshot(&mut self.soc);
        let allowed: Vec<Allowed> = (0..DeviceId::COUNT)
            .flat_map(|d| {
                self.dma
                    .allowed_ranges(DeviceId(d))
                    .into_iter()
                    .map(move |r| Allowed {
                        dev: d as u8,
                        range: r.range(),
                        read: r.read,
                        write: r.write,
                    })
            })
            .collect();
        let unprotected = self.unprotected.clone();
        check_beats(
            &beats,
            &ram,
            |d| self.view(d),
            &allowed,
            |d| unprotected.contains(&d),
            &writable,
        )
        .unwrap_or_else(|e| panic!("scoreboard:\n{}", e.join("\n")))
    }

    fn faults(&mut self) -> Vec<FaultRecord> {
        self.dma
            .iommu_mut()
            .read_faults(&mut self.soc)
            .expect("fault queue")
    }

    fn counters(&mut self) -> driver::iommu::IommuCounters {
        self.dma.iommu().read_counters(&mut self.soc)
    }
}

fn expect_iommu_fault(r: Result<Outcome, DmacError>, iova: u32) {
    match r {
        Err(DmacError::Transfer { cause, addr, .. }) => {
            assert_eq!((cause, addr), (Cause::IommuFault, iova));
        }
        other => panic!("expected an IOMMU fault at {iova:#x}, got {other:?}"),
    }
}

fn record(cause: FaultCause, access: FaultAccess, iova: u32) -> (FaultCode, FaultAccess, u32, u32) {
    (FaultCode::Known(cause), access, DEV.0, iova)
}

fn summary(f: &[FaultRecord]) -> Vec<(FaultCode, FaultAccess, u32, u32)> {
    f.iter()
        .map(|r| (r.cause, r.access, r.device.0, r.iova))
        .collect()
}

#[test]
fn memcpy_through_the_dma_api_is_exact_and_every_beat_matches_the_reference_walk() {
    let mut rig = Rig::on();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for round in 0..6u64 {
        // Sub-page offsets and lengths across page boundaries.
        let len = 4 * rng.gen_range(1..3000u32);
        let (src_pa, data) = rig.buffer(16384, round);
        let (dst_pa, _) = rig.buffer(16384, 100 + round);
        let so = 4 * rng.gen_range(0..1000u32);
        let doff = 4 * rng.gen_range(0..1000u32);
        let before = rig.read(dst_pa, 16384);
        let s = rig.map(src_pa + so, len, DmaDirection::ToDevice);
        let d = rig.map(dst_pa + doff, len, DmaDirection::FromDevice);
        assert_ne!(s.0, src_pa + so, "translated: the IOVA is not the PA");
        assert_eq!(s.0 % PAGE_BYTES, (src_pa + so) % PAGE_BYTES);
        let out = rig.copy(s, d, len).expect("copy");
        assert_eq!(out.bytes, len);
        let got = rig.read(dst_pa, 16384);
        let mut want = before.clone();
        let (a, n) = ((doff / 4) as usize, (len / 4) as usize);
        want[a..a + n].copy_from_slice(&data[(so / 4) as usize..(so / 4) as usize + n]);
        assert_eq!(got, want, "round {round}: destination");
        let seen = rig.check();
        assert_eq!(seen.translated, 2 * n, "every device beat was translated");
        assert!(seen.iommu_reads > 0, "cold IOTLB: the walker read PTEs");
        rig.unmap(s, len, DmaDirection::ToDevice);
        rig.unmap(d, len, DmaDirection::FromDevice);
        rig.dma.mm_mut().free(src_pa).unwrap();
        rig.dma.mm_mut().free(dst_pa).unwrap();
    }
    assert_eq!(rig.dma.live_mappings(DEV), vec![]);
    let c = rig.counters();
    assert_eq!(c.faults, 0);
    assert!(c.iotlb_hits > 10 * c.iotlb_misses, "{c:?}");
}

#[test]
fn chain_mode_descriptors_in_coherent_memory_are_translated_too() {
    let mut rig = Rig::on();
    let (ring_pa, ring) = rig
        .dma
        .alloc_coherent(&mut rig.soc, DEV, PAGE_BYTES)
        .expect("coherent");
    let (src_pa, data) = rig.buffer(8192, 1);
    let (dst_pa, _) = rig.buffer(8192, 2);
    let s = rig.map(src_pa, 8192, DmaDirection::ToDevice);
    let d = rig.map(dst_pa, 8192, DmaDirection::FromDevice);
    // Two descriptors, each copying one page, linked by IOVA.
    let descs = [
        [s.0, d.0, 4096, ring.0 + 16],
        [s.0 + 4096, d.0 + 4096, 4096, 0],
    ];
    for (i, w) in descs.iter().enumerate() {
        rig.soc.write_words(ring_pa + 16 * i as u32, w);
    }
    rig.dmac
        .start_chain(&mut rig.soc, ring.0, true)
        .expect("start chain");
    let out = rig
        .dmac
        .wait(&mut rig.soc, Completion::Irq, 200_000)
        .expect("chain");
    assert_eq!((out.bytes, out.descriptors), (8192, 2));
    assert_eq!(rig.read(dst_pa, 8192), data);
    let st = rig.read(ring_pa, 32);
    assert_eq!(st[2] & regs::dmac::desc::DONE, regs::dmac::desc::DONE);
    assert_eq!(st[6] & regs::dmac::desc::DONE, regs::dmac::desc::DONE);
    rig.check();
}

#[test]
fn superpages_translate_with_one_walk_level() {
    let mut soc = new_soc();
    let mut mm = PageAllocator::from_device(&mut soc).unwrap();
    mm.reserve(WORKLOAD_BASE, 16).unwrap();
    let mut iommu = driver::iommu::Iommu::new();
    iommu.enable_command_queue(&mut soc, &mut mm, 16).unwrap();
    iommu
        .enable_fault_queue(&mut soc, &mut mm, 16, false)
        .unwrap();
    iommu.set_mode(&mut soc, &mut mm, IommuMode::Ddt).unwrap();
    let mut pt = PageTable::new(&mut soc, &mut mm).unwrap();
    // 4 MiB at IOVA 0xC000_0000 -> PA 0 (RAM is the first 1 MiB of it).
    pt.map_superpage(&mut soc, 0xC000_0000, 0, Perm::ReadWrite)
        .unwrap();
    iommu.set_device_sv32(&mut soc, DEV, pt.root_pa()).unwrap();
    let src = mm.alloc(2).unwrap();
    let dst = mm.alloc(2).unwrap();
    let data: Vec<u32> = (0..2048u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
    soc.write_words(src, &data);
    iommu.clear_counters(&mut soc);
    soc.set_dma_log(true);
    Dmac::new()
        .memcpy(
            &mut soc,
            0xC000_0000 + src,
            0xC000_0000 + dst,
            8192,
            Completion::Irq,
        )
        .expect("copy");
    let mut got = vec![0; 2048];
    soc.read_words(dst, &mut got);
    assert_eq!(got, data);
    let beats = soc.take_dma_log();
    let ram = ram_snapshot(&mut soc);
    let root_ppn = pt.root_pa() >> 12;
    let seen = check_beats(
        &beats,
        &ram,
        |_| DeviceView::Sv32 { root_ppn },
        &[],
        |_| true,
        &[],
    )
    .unwrap_or_else(|e| panic!("{}", e.join("\n")));
    assert_eq!(seen.translated, 4096);
    let c = iommu.read_counters(&mut soc);
    // One superpage entry serves both buffers: a single walk of one PTE read.
    assert_eq!((c.iotlb_misses, c.faults), (1, 0));
    let pte_reads = beats.iter().filter(|b| b.iommu && !b.we).count();
    assert_eq!(
        pte_reads,
        1 + 2,
        "one PTE read plus the device context (2 words)"
    );
}

#[test]
fn permission_faults_abort_the_access_and_write_a_fault_record() {
    let mut rig = Rig::on();
    let (src_pa, _) = rig.buffer(4096, 1);
    let (dst_pa, old) = rig.buffer(4096, 2);
    let s = rig.map(src_pa, 4096, DmaDirection::ToDevice);
    // The destination is mapped for the device to read only: its writes must fault.
    let d = rig.map(dst_pa, 4096, DmaDirection::ToDevice);
    let r = rig.copy(s, d, 256);
    expect_iommu_fault(r, d.0);
    assert_eq!(rig.read(dst_pa, 4096), old, "nothing written");
    let seen = rig.check();
    assert_eq!(seen.device_writes, 0);
    assert_eq!(
        seen.device_reads,
        regs::dmac::READ_AHEAD as usize,
        "the reads ahead of the first write were made, then that write faulted"
    );
    assert_eq!(
        summary(&rig.faults()),
        vec![record(FaultCause::WritePageFault, FaultAccess::Write, d.0)]
    );
    // An IOVA never mapped: read page fault, not a single device beat.
    let r = rig.copy(DmaAddr(0x7000_0000), d, 64);
    expect_iommu_fault(r, 0x7000_0000);
    assert_eq!(rig.check().device_reads, 0);
    assert_eq!(
        summary(&rig.faults()),
        vec![record(
            FaultCause::ReadPageFault,
            FaultAccess::Read,
            0x7000_0000
        )]
    );
    let c = rig.counters();
    assert_eq!((c.faults, c.faults_dropped), (2, 0));
}

#[test]
fn a_page_outside_ram_is_an_access_fault() {
    let mut rig = Rig::on();
    let (dst_pa, _) = rig.buffer(4096, 2);
    let d = rig.map(dst_pa, 4096, DmaDirection::FromDevice);
    // Behind the DMA layer: a PTE pointing past the 1 MiB of RAM.
    let beyond = regs::SocConfig::SIM.bytes() + 0x10_0000;
    let iova = 0x6000_0000;
    rig.soc.set_dma_log(false);
    {
        // Behind the DMA layer's back, a level-0 table of its own in the device's tables.
        let root = rig.dma.page_table(DEV).unwrap().root_pa();
        assert_eq!(rig.soc.read32(root + 4 * regs::sv32::vpn1(iova)), 0);
        let l0 = rig.dma.mm_mut().alloc(1).unwrap();
        driver::mm::zero_pages(&mut rig.soc, l0, 1);
        rig.soc.write32(
            root + 4 * regs::sv32::vpn1(iova),
            regs::sv32::pte::new(l0 >> 12, regs::sv32::pte::V),
        );
        rig.soc.write32(
            l0 + 4 * regs::sv32::vpn0(iova),
            regs::sv32::pte::new(beyond >> 12, Perm::ReadWrite.leaf_flags()),
        );
    }
    rig.soc.set_dma_log(true);
    let r = rig.copy(DmaAddr(iova), d, 64);
    expect_iommu_fault(r, iova);
    assert_eq!(rig.check().device_reads, 0);
    assert_eq!(
        summary(&rig.faults()),
        vec![record(FaultCause::ReadAccessFault, FaultAccess::Read, iova)]
    );
}

#[test]
fn device_context_invalid_and_global_off_refuse_everything_and_say_so() {
    let mut rig = Rig::on();
    let (src_pa, _) = rig.buffer(4096, 1);
    let (dst_pa, old) = rig.buffer(4096, 2);
    let s = rig.map(src_pa, 4096, DmaDirection::ToDevice);
    let d = rig.map(dst_pa, 4096, DmaDirection::FromDevice);
    rig.dma
        .iommu_mut()
        .disable_device(&mut rig.soc, DEV)
        .unwrap();
    expect_iommu_fault(rig.copy(s, d, 64), s.0);
    rig.iommu_with_mm(|iommu, soc, mm| iommu.set_mode(soc, mm, IommuMode::Off))
        .unwrap();
    expect_iommu_fault(rig.copy(s, d, 64), s.0);
    assert_eq!(rig.read(dst_pa, 4096), old);
    let beats = rig.soc.take_dma_log();
    assert!(
        beats.iter().all(|b| b.iommu),
        "no device beat reached the bus"
    );
    assert_eq!(
        summary(&rig.faults()),
        vec![
            record(FaultCause::DdtEntryNotValid, FaultAccess::Read, s.0),
            record(FaultCause::AllDisallowed, FaultAccess::Read, s.0),
        ]
    );
}

#[test]
fn strict_unmap_closes_the_window_that_lazy_mode_leaves_open() {
    for lazy in [false, true] {
        let inv = if lazy {
            Invalidation::Lazy {
                flush_threshold: 256,
            }
        } else {
            Invalidation::Strict
        };
        let mut rig = Rig::new(config(IommuPolicy::On, inv, 64));
        let (src_pa, data) = rig.buffer(4096, 1);
        let (dst_pa, _) = rig.buffer(4096, 2);
        let s = rig.map(src_pa, 4096, DmaDirection::ToDevice);
        let d = rig.map(dst_pa, 4096, DmaDirection::FromDevice);
        rig.copy(s, d, 4096).expect("copy while mapped");
        rig.check();
        rig.unmap(s, 4096, DmaDirection::ToDevice);
        // The device (buggy or hostile) uses the source IOVA again after the unmap.
        rig.soc.write_words(dst_pa, &vec![0; 1024]);
        let r = rig.copy(s, d, 4096);
        let beats = rig.soc.take_dma_log();
        if lazy {
            // The stale IOTLB entry still translates: the old page is read.
            r.expect("lazy: the stale translation still works");
            assert_eq!(rig.read(dst_pa, 4096), data);
            assert!(beats.iter().any(|b| !b.iommu && !b.we && b.pa == src_pa));
            assert_eq!(rig.dma.pending_unmaps(DEV), 1);
            rig.dma.flush(&mut rig.soc, DEV).expect("flush");
            expect_iommu_fault(rig.copy(s, d, 4096), s.0);
        } else {
            expect_iommu_fault(r, s.0);
            assert!(beats.iter().all(|b| b.iommu || b.pa != src_pa));
        }
        rig.soc.take_dma_log();
    }
}

#[test]
fn fault_queue_overflow_drops_new_records_and_never_overwrites() {
    let mut rig = Rig::new(config(IommuPolicy::On, Invalidation::Strict, 4));
    let (dst_pa, _) = rig.buffer(4096, 2);
    let d = rig.map(dst_pa, 4096, DmaDirection::FromDevice);
    let iovas: Vec<u32> = (0..5).map(|i| 0x5000_0000 + i * PAGE_BYTES).collect();
    for &iova in &iovas {
        expect_iommu_fault(rig.copy(DmaAddr(iova), d, 4), iova);
    }
    let st = rig.dma.iommu().fault_status(&mut rig.soc, true);
    assert!(st.overflow, "{st:?}");
    // A 4-entry ring holds 3 unread records: the first three, in order.
    assert_eq!(
        summary(&rig.faults()),
        iovas[..3]
            .iter()
            .map(|&a| record(FaultCause::ReadPageFault, FaultAccess::Read, a))
            .collect::<Vec<_>>()
    );
    let c = rig.counters();
    assert_eq!((c.faults, c.faults_dropped), (5, 2));
    rig.check();
    // Read and released: the next fault is recorded again.
    expect_iommu_fault(rig.copy(DmaAddr(0x5100_0000), d, 4), 0x5100_0000);
    assert_eq!(rig.faults().len(), 1);
    // Overflow again, then re-enable the queue without clearing FQOF by hand: FQEN 0 -> 1
    // clears it (as the spec says), so records flow again.
    for &iova in &iovas[..4] {
        expect_iommu_fault(rig.copy(DmaAddr(iova), d, 4), iova);
    }
    rig.iommu_with_mm(|iommu, soc, mm| iommu.enable_fault_queue(soc, mm, 4, false))
        .unwrap();
    assert!(!rig.dma.iommu().fault_status(&mut rig.soc, false).overflow);
    expect_iommu_fault(rig.copy(DmaAddr(0x5200_0000), d, 4), 0x5200_0000);
    assert_eq!(
        summary(&rig.faults()),
        vec![record(
            FaultCause::ReadPageFault,
            FaultAccess::Read,
            0x5200_0000
        )]
    );
}

#[test]
fn dma_attack_a_translated_device_reaches_nothing_it_was_not_given() {
    // The victim: a secret the device was never given, and a page it must not write.
    let mut rig = Rig::on();
    let (secret_pa, secret) = rig.buffer(4096, 7);
    let (mine_pa, _) = rig.buffer(4096, 9);
    let mine = rig.map(mine_pa, 4096, DmaDirection::Bidirectional);
    // Translated: the device uses physical addresses it learned somehow.
    expect_iommu_fault(rig.copy(DmaAddr(secret_pa), mine, 4096), secret_pa);
    expect_iommu_fault(rig.copy(mine, DmaAddr(secret_pa), 4096), secret_pa);
    let seen = rig.check();
    assert_eq!(rig.read(secret_pa, 4096), secret, "secret untouched");
    assert_eq!(seen.device_writes, 0);
    assert_eq!(rig.faults().len(), 2);

    // The same requests with the device in passthrough (iommu=pt for it): they go through.
    let mut pt = Rig::new(config(IommuPolicy::Pt, Invalidation::Strict, 64));
    pt.unprotected.push(DEV.0 as u8);
    let (secret_pa, secret) = pt.buffer(4096, 7);
    let (loot_pa2, _) = pt.buffer(4096, 8);
    let (evil_pa, evil) = pt.buffer(4096, 9);
    pt.copy(DmaAddr(secret_pa), DmaAddr(loot_pa2), 4096)
        .expect("pt: the device reads what it likes");
    assert_eq!(pt.read(loot_pa2, 4096), secret, "secret exfiltrated");
    pt.copy(DmaAddr(evil_pa), DmaAddr(secret_pa), 64)
        .expect("pt: and writes where it likes");
    let mut overwritten = evil[..16].to_vec();
    overwritten.extend_from_slice(&secret[16..]);
    assert_eq!(pt.read(secret_pa, 4096), overwritten, "secret overwritten");
    let seen = pt.check();
    assert_eq!((seen.translated, seen.device_writes), (0, 1024 + 16));
}

#[test]
fn passthrough_and_translated_devices_side_by_side() {
    // One directory: memcpy channel 0 translated (iommu=on), channel 1 in passthrough
    // (iommu=pt for that device). Both copy at once; the channel mux interleaves their bursts.
    let mut rig = Rig::on();
    let dev1 = DeviceId::MEMCPY1;
    rig.dma
        .attach_as(&mut rig.soc, dev1, DomainType::Identity)
        .unwrap();
    rig.unprotected.push(dev1.0 as u8);
    let (src0, data0) = rig.buffer(8192, 1);
    let (dst0, _) = rig.buffer(8192, 2);
    let (src1, data1) = rig.buffer(8192, 3);
    let (dst1, _) = rig.buffer(8192, 4);
    let s0 = rig.map(src0, 8192, DmaDirection::ToDevice);
    let d0 = rig.map(dst0, 8192, DmaDirection::FromDevice);
    let s1 = rig
        .dma
        .try_map_single(&mut rig.soc, dev1, src1, 8192, DmaDirection::ToDevice)
        .unwrap();
    let d1 = rig
        .dma
        .try_map_single(&mut rig.soc, dev1, dst1, 8192, DmaDirection::FromDevice)
        .unwrap();
    assert_eq!((s1.0, d1.0), (src1, dst1), "identity: DMA address = PA");
    assert_ne!(s0.0, src0, "translated: an IOVA");
    let mut ch1 = Dmac::channel(1).unwrap();
    rig.dmac
        .start(&mut rig.soc, s0.0, d0.0, 8192, true)
        .unwrap();
    ch1.start(&mut rig.soc, s1.0, d1.0, 8192, true).unwrap();
    rig.dmac
        .wait(&mut rig.soc, Completion::Poll, 200_000)
        .unwrap();
    ch1.wait(&mut rig.soc, Completion::Poll, 200_000).unwrap();
    assert_eq!(rig.read(dst0, 8192), data0);
    assert_eq!(rig.read(dst1, 8192), data1);
    let beats = rig.soc.take_dma_log();
    // Both devices were on the bus during the same stretch: their bursts interleave.
    let devs: Vec<u8> = beats.iter().filter(|b| !b.iommu).map(|b| b.dev).collect();
    let switches = devs.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 3, "{switches} switches between the devices");
    // Put the beats back for the scoreboard: translated beats for device 0, PA = IOVA for 1.
    let writable = testbench::iommu_writable(&mut rig.soc);
    let ram = ram_snapshot(&mut rig.soc);
    let root = rig.dma.page_table(DEV).unwrap().root_pa() >> 12;
    let allowed: Vec<Allowed> = rig
        .dma
        .allowed_ranges(DEV)
        .into_iter()
        .map(|r| Allowed {
            dev: 0,
            range: r.range(),
            read: r.read,
            write: r.write,
        })
        .collect();
    let seen = check_beats(
        &beats,
        &ram,
        |d| {
            if d == 0 {
                DeviceView::Sv32 { root_ppn: root }
            } else {
                DeviceView::Bare
            }
        },
        &allowed,
        |d| d == 1,
        &writable,
    )
    .unwrap_or_else(|e| panic!("{}", e.join("\n")));
    assert_eq!(seen.translated, 4096, "device 0's beats, all translated");
    assert_eq!(seen.device_reads + seen.device_writes, 2 * 4096);
    // The passthrough device can read the translated device's buffers; not the reverse.
    ch1.memcpy(&mut rig.soc, src0, dst1, 64, Completion::Irq)
        .expect("pt device reads device 0's buffer by its PA");
    expect_iommu_fault(rig.copy(DmaAddr(src1), d0, 64), src1);
}

#[test]
fn the_memcpy_suite_through_the_dma_api_with_the_iommu_on() {
    // The random register-mode copies of tests/memcpy.rs again, but every address is an IOVA
    // from map_single: all four arbitration modes, CPU load, interrupt and polling.
    use driver::arb::{self, ArbMode};
    let modes = [
        ArbMode::Burst { cap: 0 },
        ArbMode::Burst { cap: 16 },
        ArbMode::CycleSteal { bound: Some(8) },
        ArbMode::CycleSteal { bound: None },
    ];
    soak::Suite::new(
        "iommu_memcpy",
        "cargo test -p testbench --test iommu the_memcpy_suite_through_the_dma_api_with_the_iommu_on -- --exact",
        0..16,
    )
    .run(|seed, tally, hostile| {
        let i = seed as u32;
        let mut rig = Rig::on();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xD3A_0000 + seed);
        let mode = modes[i as usize % modes.len()];
        arb::set_mode(&mut rig.soc, mode);
        let words = rng.gen_range(1..1500u32);
        let (src_pa, data) = rig.buffer(8192, u64::from(i));
        let (dst_pa, before) = rig.buffer(8192, 1000 + u64::from(i));
        let (so, doff) = (4 * rng.gen_range(0..512u32), 4 * rng.gen_range(0..512u32));
        let s = rig.map(src_pa + so, 4 * words, DmaDirection::ToDevice);
        let d = rig.map(dst_pa + doff, 4 * words, DmaDirection::FromDevice);
        rig.soc
            .set_cpu_workload(testbench::cpu_load([0, 30, 60][i as usize % 3], i + 1));
        let completion = if i.is_multiple_of(2) {
            Completion::Irq
        } else {
            Completion::Poll
        };
        // The hostile mix unmaps the source before the copy half the time (a driver bug: a
        // use after unmap): with strict invalidation the IOMMU must refuse the very first
        // read, with a fault record naming it, and nothing may be written.
        let unmapped = hostile && rng.gen_bool(0.5);
        if unmapped {
            rig.unmap(s, 4 * words, DmaDirection::ToDevice);
        }
        let result = rig
            .dmac
            .memcpy(&mut rig.soc, s.0, d.0, 4 * words, completion);
        rig.soc.set_cpu_workload(testbench::cpu_load(0, 0));
        let (a, b, n) = ((doff / 4) as usize, (so / 4) as usize, words as usize);
        let mut want = before;
        if unmapped {
            expect_iommu_fault(result, s.0);
            assert_eq!(
                summary(&rig.faults()),
                vec![record(FaultCause::ReadPageFault, FaultAccess::Read, s.0)],
                "copy {i}"
            );
            tally.add("faults_expected_and_matched", 1);
        } else {
            let out = result.unwrap_or_else(|e| panic!("copy {i} ({mode:?}): {e}"));
            assert_eq!(out.bytes, 4 * words);
            want[a..a + n].copy_from_slice(&data[b..b + n]);
        }
        assert_eq!(rig.read(dst_pa, 8192), want, "copy {i}, {mode:?}");
        let seen = rig.check();
        tally.add(
            "dma_beats_checked",
            (seen.device_reads + seen.device_writes + seen.iommu_reads + seen.iommu_writes) as u64,
        );
        tally.add("translated_beats", seen.translated as u64);
        if !unmapped {
            rig.unmap(s, 4 * words, DmaDirection::ToDevice);
        }
        rig.unmap(d, 4 * words, DmaDirection::FromDevice);
    });
    let mut rig = Rig::on();
    // The channel's own checks come first, translated or not; a range past the mapping is
    // the IOMMU's to refuse, after the beats that were mapped.
    let (src_pa, _) = rig.buffer(4096, 1);
    let (dst_pa, old) = rig.buffer(8192, 2);
    let s = rig.map(src_pa, 4096, DmaDirection::ToDevice);
    let d = rig.map(dst_pa, 4096, DmaDirection::FromDevice);
    match rig.copy(s, d, 0) {
        Err(DmacError::Transfer { cause, .. }) => assert_eq!(cause, Cause::ZeroLength),
        other => panic!("{other:?}"),
    }
    match rig.copy(DmaAddr(s.0 + 2), d, 8) {
        Err(DmacError::Transfer { cause, .. }) => assert_eq!(cause, Cause::Unaligned),
        other => panic!("{other:?}"),
    }
    // 8 KiB from a 4 KiB mapping: the first page copies, the second page's first read faults.
    let r = rig.copy(s, d, 8192);
    expect_iommu_fault(r, s.0 + 4096);
    assert_eq!(
        rig.read(dst_pa + 4096, 4096),
        old[1024..].to_vec(),
        "second page untouched"
    );
    rig.check();
}

#[test]
fn a_fault_on_one_channel_leaves_the_other_copying() {
    // Both channels translated; channel 1 reads an IOVA it was never given while channel 0
    // copies 16 KiB. The fault (walk, record) must reach channel 1 only.
    let mut rig = Rig::on();
    let dev1 = DeviceId::MEMCPY1;
    rig.dma.attach(&mut rig.soc, dev1).unwrap();
    const LEN: u32 = 65536;
    let (src_pa, data) = rig.buffer(LEN, 1);
    let (dst_pa, _) = rig.buffer(LEN, 2);
    let (dst1_pa, old1) = rig.buffer(4096, 3);
    let s = rig.map(src_pa, LEN, DmaDirection::ToDevice);
    let d = rig.map(dst_pa, LEN, DmaDirection::FromDevice);
    let d1 = rig
        .dma
        .try_map_single(&mut rig.soc, dev1, dst1_pa, 4096, DmaDirection::FromDevice)
        .unwrap();
    let mut ch1 = Dmac::channel(1).unwrap();
    rig.dmac.start(&mut rig.soc, s.0, d.0, LEN, true).unwrap();
    for k in 0..4u32 {
        let iova = 0x3000_0000 + k * PAGE_BYTES;
        ch1.start(&mut rig.soc, iova, d1.0, 64, false).unwrap();
        match ch1.wait(&mut rig.soc, Completion::Poll, 100_000) {
            Err(DmacError::Transfer { cause, addr, .. }) => {
                assert_eq!((cause, addr), (Cause::IommuFault, iova))
            }
            other => panic!("channel 1: {other:?}"),
        }
    }
    let busy = rig.dmac.status(&mut rig.soc) & regs::dmac::status::BUSY;
    assert_ne!(
        busy, 0,
        "channel 0 was still copying when channel 1's faults came"
    );
    rig.dmac
        .wait(&mut rig.soc, Completion::Irq, 500_000)
        .expect("channel 0 unaffected");
    assert_eq!(rig.read(dst_pa, LEN), data);
    assert_eq!(rig.read(dst1_pa, 4096), old1);
    let faults = rig.faults();
    assert_eq!(faults.len(), 4);
    assert!(faults.iter().all(|f| f.device == dev1), "{faults:?}");
    rig.check();
}
