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

  // Standard padded base64, canonical only (as ledger/note/signed_note.py decodes it).
  function strictB64ToBytes(text) {
    let raw;
    try { raw = atob(text); } catch (_) { throw new Error(`invalid base64 ${JSON.stringify(text)}`); }
    if (btoa(raw) !== text) throw new Error(`non-canonical base64 ${JSON.stringify(text)}`);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  // A verifier key: name+hex key id+base64(alg || Ed25519 public key), with key id =
  // SHA-256(name || "\n" || alg || public key)[:4]; alg 0x01 signs notes, 0x04 cosigns
  // checkpoints (c2sp.org/tlog-cosignature).
  async function parseVkey(vkey, alg = 1) {
    // Split at the first two "+" only: standard base64 may itself contain "+".
    const first = vkey.indexOf("+"), second = vkey.indexOf("+", first + 1);
    if (first < 0 || second < 0) throw new Error("vkey needs three '+'-separated fields");
    const name = vkey.slice(0, first), idHex = vkey.slice(first + 1, second);
    if (!name || /[\s\x00-\x1f]/u.test(name)) throw new Error(`invalid key name ${JSON.stringify(name)}`);
    const raw = strictB64ToBytes(vkey.slice(second + 1));
    if (raw.length !== 33 || raw[0] !== alg) throw new Error(`vkey is not a type 0x0${alg} Ed25519 key`);
    const keyHash = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
    if (bytesToHex(keyHash) !== idHex) throw new Error("vkey key ID does not match its name and key");
    return { name, keyHash, publicKey: raw.slice(1), alg };
  }

  // Whether an Ed25519 signature verifies; null when this browser's WebCrypto has no Ed25519.
  async function ed25519Verify(publicKey, signature, message) {
    let cryptoKey;
    try {
      cryptoKey = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (_) {
      return null;
    }
    return crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, signature, message);
  }

  // "verified" | "failed" | "unsupported" (no Ed25519 in this browser's WebCrypto).
  async function verifyNoteSignature(checkpoint, vkey) {
    const key = await parseVkey(vkey);
    const sig = checkpoint.signatures.find(
      (s) => s.name === key.name && equal(s.keyHash, key.keyHash));
    if (!sig) return "failed";
    const ok = await ed25519Verify(key.publicKey, sig.signature, enc.encode(checkpoint.text));
    if (ok === null) return "unsupported";
    return ok ? "verified" : "failed";
  }

  return {
    hexToBytes, bytesToHex, b64ToBytes, strictB64ToBytes, sha256, concat, equal,
    rootFromInclusionProof, verifyInclusion, recordLeafHash, parseNote, parseVkey,
    ed25519Verify, verifyNoteSignature,
  };
})();
