// Ledger proofs in the browser: RFC 9162 inclusion proofs and C2SP signed checkpoints.
// Everything here is recomputed from bytes with WebCrypto; nothing is taken on trust.
"use strict";

const LedgerProof = (() => {
  const enc = new TextEncoder();

  function hexToBytes(hex) {
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error("not hex: " + hex);
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }

  function bytesToHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function b64ToBytes(text) {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function equal(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // RFC 9162 interior node: SHA-256(0x01 || left || right).
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  // RFC 9162 §2.1.3.2: the root implied by a leaf hash, its index, the tree size and the
  // inclusion proof; null when the proof has the wrong shape for that index and size.
  async function rootFromInclusionProof(leafHash, index, size, proof) {
    let fn = BigInt(index);
    let sn = BigInt(size) - 1n;
    if (fn > sn) return null;
    let r = leafHash;
    for (const p of proof) {
      if (sn === 0n) return null;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n ? r : null;
  }

  async function verifyInclusion(leafHash, index, size, proof, root) {
    const computed = await rootFromInclusionProof(leafHash, index, size, proof);
    return computed !== null && equal(computed, root);
  }

  // The 177-byte record leaf (docs/ledger-format.md §3) and its RFC 9162 leaf hash.
  async function recordLeafHash(record) {
    const leaf = new Uint8Array(177);
    const view = new DataView(leaf.buffer);
    leaf[0] = 1;
    view.setBigUint64(1, BigInt(record.seq));
    view.setBigInt64(9, BigInt(record.timestampUs));
    leaf.set(hexToBytes(record.prevChainHash), 17);
    leaf.set(hexToBytes(record.entryHash), 49);
    leaf.set(hexToBytes(record.keyId), 81);
    leaf.set(b64ToBytes(record.signature), 113);
    return sha256(concat(Uint8Array.of(0), leaf));
  }

  // A C2SP signed note: the text (up to the blank line) and its signature lines.
  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("checkpoint note has no signature block");
    const text = note.slice(0, split + 1);
    const signatures = note.slice(split + 2).split("\n").filter((l) => l.length > 0).map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("malformed signature line");
      const raw = b64ToBytes(m[2]);
      return { name: m[1], keyHash: raw.slice(0, 4), signature: raw.slice(4) };
    });
    const lines = text.split("\n");
    if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
      throw new Error("malformed checkpoint body");
    }
    const root = b64ToBytes(lines[2]);
    if (root.length !== 32) throw new Error("checkpoint root is not 32 bytes");
    return { text, origin: lines[0], size: Number(lines[1]), root, signatures };
  }

  // A note verifier key: name+hex key id+base64(0x01 || Ed25519 public key), with
  // key id = SHA-256(name || "\n" || 0x01 || public key)[:4].
  async function parseVkey(vkey) {
    // Split at the first two "+" only: standard base64 may itself contain "+".
    const first = vkey.indexOf("+"), second = vkey.indexOf("+", first + 1);
    if (first < 0 || second < 0) throw new Error("not a note verifier key");
    const name = vkey.slice(0, first), idHex = vkey.slice(first + 1, second);
    const keyB64 = vkey.slice(second + 1);
    const raw = b64ToBytes(keyB64 || "");
    if (!name || raw.length !== 33 || raw[0] !== 1) throw new Error("not an Ed25519 note key");
    const keyHash = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
    if (bytesToHex(keyHash) !== idHex) throw new Error("key id does not match the key");
    return { name, keyHash, publicKey: raw.slice(1) };
  }

  // "verified" | "failed" | "unsupported" (no Ed25519 in this browser's WebCrypto).
  async function verifyNoteSignature(checkpoint, vkey) {
    const key = await parseVkey(vkey);
    const sig = checkpoint.signatures.find(
      (s) => s.name === key.name && equal(s.keyHash, key.keyHash));
    if (!sig) return "failed";
    let cryptoKey;
    try {
      cryptoKey = await crypto.subtle.importKey(
        "raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (_) {
      return "unsupported";
    }
    const ok = await crypto.subtle.verify(
      { name: "Ed25519" }, cryptoKey, sig.signature, enc.encode(checkpoint.text));
    return ok ? "verified" : "failed";
  }

  return {
    hexToBytes, bytesToHex, b64ToBytes, sha256, equal,
    rootFromInclusionProof, verifyInclusion, recordLeafHash, parseNote, parseVkey,
    verifyNoteSignature,
  };
})();
