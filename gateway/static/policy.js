// C2SP tlog-policy in the browser: which log keys and which witness quorum make a checkpoint
// valid. Parsed by the rules of ledger/note/tlog_policy.py and checked with WebCrypto
// Ed25519 (c2sp.org/tlog-cosignature, cosignature/v1), refusals worded as there;
// tests/data/tlog_policy_vectors.json holds the two implementations to one set of verdicts.
"use strict";

const WitnessPolicy = (() => {
  const NONE = "none";
  const MAX_ENTRIES = 32;
  const MAX_TIMESTAMP = (1n << 63n) - 1n;
  const enc = new TextEncoder();

  class PolicyError extends Error {}

  // The policy text as { logs, witnesses: Map(name -> key), groups: Map(name -> group),
  // quorum }; throws PolicyError naming the line, as TlogPolicy.parse raises.
  async function parse(text) {
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) {
      throw new PolicyError("a policy may contain no control character but tab");
    }
    const p = { logs: [], witnesses: new Map(), groups: new Map(), quorum: null, keys: new Set() };
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const fields = lines[i].replace(/^[ \t]+|[ \t]+$/g, "").split(/[ \t]+/);
      if (!fields[0] || fields[0].startsWith("#")) continue;
      try {
        await line(p, fields);
      } catch (err) {
        throw new PolicyError(`policy line ${i + 1}: ${err.message}`);
      }
    }
    if (p.quorum === null) throw new PolicyError("the policy has no quorum line");
    delete p.keys;
    return p;
  }

  async function line(p, [keyword, ...args]) {
    const defined = (name) => p.witnesses.has(name) || p.groups.has(name);
    const fresh = (name) => {
      if (name === NONE || defined(name)) throw new Error(`the name '${name}' is reserved or already defined`);
    };
    const unique = (kind, key) => {
      const id = `${kind} ${LedgerProof.bytesToHex(key.publicKey)}`;
      if (p.keys.has(id)) throw new Error(`the same ${kind} key is listed twice (${key.name})`);
      p.keys.add(id);
      return key;
    };
    if (keyword === "log" && (args.length === 1 || args.length === 2)) {
      p.logs.push(unique("log", await LedgerProof.parseVkey(args[0], 0x01)));
    } else if (keyword === "witness" && (args.length === 2 || args.length === 3)) {
      fresh(args[0]);
      p.witnesses.set(args[0], unique("witness", await LedgerProof.parseVkey(args[1], 0x04)));
    } else if (keyword === "group" && args.length >= 3) {
      const [name, threshold, ...members] = args;
      fresh(name);
      for (const m of members) {
        if (m === NONE || !defined(m)) throw new Error(`group member '${m}' is not defined above it`);
      }
      if (new Set(members).size !== members.length) throw new Error(`group '${name}' lists a member twice`);
      let k;
      if (threshold === "all" || threshold === "any") k = threshold === "all" ? members.length : 1;
      else if (/^[1-9][0-9]*$/.test(threshold) && Number(threshold) <= members.length) k = Number(threshold);
      else throw new Error(`group '${name}' threshold '${threshold}' is not 1..n`);
      p.groups.set(name, { threshold: k, members });
    } else if (keyword === "quorum" && args.length === 1) {
      if (p.quorum !== null) throw new Error("a policy has exactly one quorum line");
      if (args[0] !== NONE && !defined(args[0])) throw new Error(`quorum '${args[0]}' is not defined above it`);
      p.quorum = args[0];
    } else {
      throw new Error(`unknown line or wrong number of fields: '${keyword}'`);
    }
    if (Math.max(p.logs.length, p.witnesses.size, p.groups.size) > MAX_ENTRIES) {
      throw new Error(`more than ${MAX_ENTRIES} logs, witnesses or groups`);
    }
  }

  // Whether `sig` (from a signature line) verifies over the note text with `key`: a plain
  // note signature (0x01), or timestamp (8 bytes, big-endian) || Ed25519 over
  // "cosignature/v1\ntime <T>\n" || text (0x04). null: no Ed25519 in this browser.
  function verifies(key, sig, text) {
    if (key.alg === 0x01) return LedgerProof.ed25519Verify(key.publicKey, sig, enc.encode(text));
    if (sig.length !== 72) return false;
    const time = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0);
    if (time > MAX_TIMESTAMP) return false;
    const message = enc.encode(`cosignature/v1\ntime ${time}\n${text}`);
    return LedgerProof.ed25519Verify(key.publicKey, sig.slice(8), message);
  }

  // { ok: true, cosigners } when the checkpoint note is signed by a log of the policy (or,
  // if it lists none, one of `knownLogs`, vkeys) and cosigned by its quorum; else
  // { ok: false, reason } (with `unsupported` when the browser cannot check Ed25519).
  // As with c2sp.org/signed-note, a signature line of a known key that does not verify
  // rejects the whole note; lines of other keys are ignored.
  async function check(policy, note, knownLogs = []) {
    const logs = policy.logs.length ? policy.logs
      : await Promise.all(knownLogs.map((v) => LedgerProof.parseVkey(v, 0x01)));
    const known = [...logs, ...policy.witnesses.values()];
    const checkpoint = LedgerProof.parseNote(note);
    const signed = new Set();
    for (const sig of checkpoint.signatures) {
      const key = known.find((k) => k.name === sig.name && LedgerProof.equal(k.keyHash, sig.keyHash));
      if (!key) continue;
      const ok = await verifies(key, sig.signature, checkpoint.text);
      if (ok === null) {
        return { ok: false, unsupported: true, reason: "this browser has no Ed25519 in WebCrypto" };
      }
      if (!ok) return { ok: false, reason: `signature by known key ${sig.name} does not verify` };
      signed.add(key);
    }
    if (!logs.some((k) => signed.has(k))) {
      return { ok: false, reason: "the checkpoint is not signed by a log of the policy" };
    }
    const cosigners = [...policy.witnesses].filter(([, k]) => signed.has(k)).map(([n]) => n);
    const have = new Set(cosigners);
    if (witnessed(policy, policy.quorum, have)) return { ok: true, cosigners };
    return { ok: false, reason: unmet(policy, cosigners, have) };
  }

  function witnessed(policy, name, have) {
    if (name === NONE) return true;
    const group = policy.groups.get(name);
    if (!group) return have.has(name);
    return group.members.filter((m) => witnessed(policy, m, have)).length >= group.threshold;
  }

  // "quorum 2-of-3 not met: cosigned by w1; missing w2, w3" (TlogPolicy._unmet).
  function unmet(policy, cosigners, have) {
    const group = policy.groups.get(policy.quorum);
    const what = group ? `${group.threshold}-of-${group.members.length}` : policy.quorum;
    const lacking = group ? group.members.filter((m) => !witnessed(policy, m, have)) : [policy.quorum];
    const by = cosigners.join(", ") || "no witness of the policy";
    return `quorum ${what} not met: cosigned by ${by}; missing ${lacking.map((m) => missing(policy, m, have)).join(", ")}`;
  }

  function missing(policy, name, have) {
    const group = policy.groups.get(name);
    if (!group) return name;
    const inner = group.members.filter((m) => !witnessed(policy, m, have));
    return `${name} (${group.threshold}-of-${group.members.length}: missing ${inner.map((m) => missing(policy, m, have)).join(", ")})`;
  }

  return { parse, check, PolicyError };
})();
