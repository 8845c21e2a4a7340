"""The simulated board's answers that change nothing: device information and name, the runtime state, the
requests it only acknowledges, and unknown requests (spec §10, §11.1). Sans-I/O."""

from __future__ import annotations

from hatch_meadow.protocol.codes import ResponseType
from hatch_meadow.protocol.packets import Message
from hatch_meadow.testing.replies import error, info, reply


class InfoOperations:
    """Mixed into ``SimulatedMeadow``, which owns the attributes declared here."""

    os_version: str
    device_name: str
    serial_number: str
    runtime_enabled: bool

    def device_info_text(self) -> str:
        """The TEXT_DEVICE_INFO payload, keys in firmware order (spec §11.1)."""
        fields = [
            ("Product", "Meadow F7 Micro"), ("Model", "F7Micro"), ("ProcessorType", "STM32F777IIK6"),
            ("CoprocessorType", "ESP32"), ("OSVersion", self.os_version), ("CoprocessorVersion", "1.8.1.0"),
            ("MonoVersion", "1.0.0.0"), ("ProcessorId", "33-00-3D-00-13-51-38-37-30-34-39-38"),
            ("Hardware", "F7FeatherV2"), ("DeviceName", self.device_name), ("SerialNo", self.serial_number),
            ("WiFiMAC", "24:0A:C4:12:34:56"), ("SoftAPMac", "24:0A:C4:12:34:57"), ("BtMAC", "24:0A:C4:12:34:58"),
        ]
        return "~".join(f"{key}|{value}" for key, value in fields)

    def _on_device_info(self, request: Message, now: float) -> list[Message]:
        return [reply(ResponseType.TEXT_ACCEPTED), reply(ResponseType.TEXT_DEVICE_INFO, self.device_info_text()),
                reply(ResponseType.TEXT_CONCLUDED)]

    def _on_device_name(self, request: Message, now: float) -> list[Message]:
        return [reply(ResponseType.TEXT_ACCEPTED), reply(ResponseType.TEXT_DEVICE_INFO, self.device_name),
                reply(ResponseType.TEXT_CONCLUDED)]

    def _on_run_state(self, request: Message, now: float) -> list[Message]:
        state = "enabled" if self.runtime_enabled else "disabled"
        return [reply(ResponseType.TEXT_ACCEPTED), info(f"Mono is {state}"), reply(ResponseType.TEXT_CONCLUDED)]

    def _on_acknowledge(self, request: Message, now: float) -> list[Message]:
        return [reply(ResponseType.TEXT_ACCEPTED), reply(ResponseType.TEXT_CONCLUDED)]

    def _on_unknown(self, request: Message, now: float) -> list[Message]:
        return [error(f"Request type 0x{request.type:04X} is not supported"), reply(ResponseType.TEXT_CONCLUDED)]
