"""A simulated Meadow board for tests, demos and benchmarks (``shared/spec/hcom-protocol.md`` §15).

``simulator`` holds the device side of HCOM, pure and sans-I/O (``SimulatedMeadow``, ``Faults``);
``pty_board`` serves it on a pseudo-terminal for a real ``serial.Serial`` (``PtyBoard``);
``protocol_sim`` is a pyserial URL handler, so ``serial.serial_for_url("sim://name")`` opens an
in-process board after ``register_sim_url()``. Nothing here is used by the build hook.
"""
