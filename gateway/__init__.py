"""gateway: an outbound messaging gateway daemon (SMS over SMPP 3.4, KakaoTalk Alimtalk)."""

__version__ = "0.1.0"
