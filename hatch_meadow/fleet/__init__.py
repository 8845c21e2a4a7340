"""Fleets: one CA, one board-accepted identity per device, the Azure bulk files, and the manifest.

Modules, one job each: :mod:`.ca` (make and load the fleet CA), :mod:`.devices` (the device CSV),
:mod:`.issue` (per-device keys and CA-signed certificates, resumable and parallel), :mod:`.folders`
(atomic device folders), :mod:`.manifest` (manifest.json/.csv, iothub-import.jsonl, azure.sh),
:mod:`.external` (CSRs for an existing PKI and importing what it signed), :mod:`.status`.
"""
