"""Faults the simulated Meadow can be told to show (spec §5, §7, §15)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    """Faults to inject; assign a new one (or change a field) on ``SimulatedMeadow.faults`` at any time.

    Packet numbers count the data packets of one download from 1 (with ``session_packets``, of
    every download since the board started, so "packet 3" can be the second file's). One-shot faults (the packet
    numbers) clear themselves when they fire, so each fires
    exactly once; counts (``init_fail_times``) count down. ``SimulatedMeadow.faults_fired`` counts
    what fired.
    """

    #: Count packet numbers across downloads instead of per download.
    session_packets: bool = False
    #: Drop the Nth data packet of the download → CRC (and size) mismatch at END (spec §15).
    drop_data_packet: int | None = None
    #: Flip the bits of the first byte of the Nth data packet → CRC mismatch at END.
    corrupt_data_packet: int | None = None
    #: After the Nth data packet, hang: ignore everything (no watchdog either) until ``unstall()``.
    stall_after_packets: int | None = None
    #: After the Nth data packet, stop reading for ``pause_s`` seconds while the clock (and the 3 s
    #: download watchdog) keeps running: flash busy, USB back-pressure on the host (spec §1, §7.5).
    pause_after_packet: int | None = None
    pause_s: float = 4.0
    #: Never answer anything: a port that is not a Meadow.
    silent: bool = False
    #: Send a TEXT_MONO_STDOUT line before every Nth reply message (0 = never; spec §5, §16).
    unsolicited_every: int = 0
    #: Send a TEXT_MONO_STDOUT line before this share of the reply messages (random, seeded).
    stdout_share: float = 0.0
    #: Send a lone 0x00 (an empty frame, spec §2) before this share of the reply messages.
    zero_share: float = 0.0
    #: Send an OS TEXT_INFORMATION line (the OS may talk at any time, spec §5) before this share of replies.
    info_share: float = 0.0
    #: Follow every TEXT_ERROR and DNLD_FAIL_RESEND with a CONCLUDED (the spec allows stray ones, §5).
    concluded_after_error: bool = False
    #: Ask the transport to deliver reply bytes in writes of 1..``split_max_bytes`` bytes.
    split_replies: bool = False
    split_max_bytes: int = 7
    #: Ask the transport to hold each burst of replies back this long (seconds).
    reply_latency_s: float = 0.0
    #: The next K STARTs get INIT_DOWNLOAD_FAIL "… another file is being processed" (transient, spec §7.3),
    #: then they succeed.
    init_fail_times: int = 0
    #: The first download reaching data packet N fails there as if the watchdog fired.
    resend_after_packet: int | None = None
    #: When the watchdog fires, the board also clears what it had read but not handled (spec §7.5 "clears
    #: its receive buffer"), so an END already sent is never answered.
    watchdog_clears_input: bool = False
    #: The board drops off USB before its RECONNECT reaches the host (the host only sees the port vanish).
    drop_reconnect: bool = False
    #: The board drops off USB this long after RECONNECT, whatever the host does meanwhile (None: as soon
    #: as the host closes the port, or 0.1 s); a host that reopens quickly gets the dying port.
    late_unplug_s: float | None = None
    #: Corrupt every data packet of downloads whose path ends with this (a file that can never arrive).
    corrupt_path_suffix: str | None = None
    #: The link dies (the board answers nothing more) at the START of a download whose path ends with this,
    #: before the board acts on it; ``SimulatedMeadow.power_cycle()`` brings the board back.
    dead_at_start_suffix: str | None = None
    #: The link dies right after the board stored a file whose path ends with this (its END reply is lost).
    dead_after_end_suffix: str | None = None
