"""WeChat message-push security: request signatures and the AES message encryption of safe mode.

Follows the Official Account "消息加解密" scheme (the same as WeChat's WXBizMsgCrypt samples):

- signature = SHA1 of the lexicographically sorted strings (token, timestamp, nonce[, Encrypt]),
  joined without a separator, in lowercase hex;
- AESKey = Base64_Decode(EncodingAESKey + "="): the 43-character EncodingAESKey gives 32 bytes;
- AES-256-CBC, IV = the first 16 bytes of the key, PKCS#7 padding to a multiple of 32 bytes (WeChat's
  block size for padding, not AES's 16);
- plaintext = 16 random bytes + 4-byte network-order length + message + appid.

Errors::

    WeChatSecurityError
     ├── SignatureError     a signature does not match, or the timestamp is too far from now
     └── CryptoError        the ciphertext does not decrypt to a well-formed message
          └── AppIdError    it decrypts, but for another Official Account
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ENCODING_AES_KEY_CHARS = 43
PAD_BLOCK = 32  # WeChat pads to 32-byte blocks (its samples' PKCS7Encoder.block_size)
RANDOM_PREFIX = 16


class WeChatSecurityError(Exception):
    """A request that must not be trusted; `reason` is safe to log (no user data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(WeChatSecurityError):
    pass


class CryptoError(WeChatSecurityError):
    pass


class AppIdError(CryptoError):
    pass


def sign(*parts: str) -> str:
    """WeChat's signature: SHA1 over the sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(signature: str, *parts: str) -> None:
    """Raise SignatureError unless `signature` is `sign(*parts)`; compared in constant time."""
    if not hmac.compare_digest(sign(*parts).encode(), signature.strip().lower().encode()):
        raise SignatureError("signature mismatch")


def check_timestamp(timestamp: str, now: float, window: float) -> None:
    """Raise SignatureError when `timestamp` is not a number of seconds within `window` of `now`.

    A signed request is only valid for a short while, so a captured one cannot be replayed later.
    """
    try:
        seconds = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not a number") from None
    if abs(now - seconds) > window:
        raise SignatureError("timestamp too far from now")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-character EncodingAESKey shown in the WeChat admin console."""
    if len(encoding_aes_key) != ENCODING_AES_KEY_CHARS:
        raise CryptoError(f"EncodingAESKey must be {ENCODING_AES_KEY_CHARS} characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise CryptoError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise CryptoError("EncodingAESKey does not decode to 32 bytes")
    return key


def pkcs7_pad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    count = block - len(data) % block  # a full block of padding when already aligned
    return data + bytes([count]) * count


def pkcs7_unpad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    count = data[-1]
    if not 1 <= count <= block or count > len(data) or data[-count:] != bytes([count]) * count:
        raise CryptoError("bad padding")
    return data[:-count]


class MessageCrypto:
    """Encrypts and decrypts message bodies for one Official Account (token, EncodingAESKey, AppID)."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.app_id = app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: bytes, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext of `message` for this account (`random_prefix` only for reproducible tests)."""
        prefix = os.urandom(RANDOM_PREFIX) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX:
            raise ValueError(f"random_prefix must be {RANDOM_PREFIX} bytes")
        plain = pkcs7_pad(prefix + struct.pack(">I", len(message)) + message + self.app_id.encode())
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside `encrypted`; CryptoError if malformed, AppIdError if for another account."""
        try:
            raw = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        body = plain[RANDOM_PREFIX:]
        if len(body) < 4:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise CryptoError("length field larger than the plaintext")
        message, app_id = body[4 : 4 + length], body[4 + length :]
        if not hmac.compare_digest(app_id, self.app_id.encode()):
            raise AppIdError("message is for another AppID")
        return message

    def check_message_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        check_signature(msg_signature, self.token, timestamp, nonce, encrypted)

    def encrypted_reply(self, message: bytes, timestamp: str, nonce: str) -> bytes:
        """The passive-reply envelope WeChat expects in safe mode: Encrypt, MsgSignature, TimeStamp, Nonce."""
        encrypted = self.encrypt(message)
        signature = sign(self.token, timestamp, nonce, encrypted)
        # Base64, hex and the digits of a timestamp never contain "]]>"; the nonce is ours, see the caller.
        return (
            "<xml>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>"
            "</xml>"
        ).encode()
