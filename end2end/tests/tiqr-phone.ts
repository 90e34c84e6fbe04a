import { createHash, createHmac, randomBytes } from "node:crypto";

// A test "phone" that talks to the portal as the real, unmodified TIQR apps do (see
// shared/tiqr-protocol.md): Android sends a lowercase hex secret, omits the fields it has no value
// for, and labels its form posts; iOS sends an UPPERCASE hex secret, the literal `(null)` for unset
// fields, and no Content-Type at all. The secret is kept XOR SHA-256(PIN), as the apps keep it
// behind the PIN: a wrong PIN silently gives a wrong key, hence a wrong OCRA response, and only
// the server's failure counter stands in the way of PIN guessing.

export const OCRA_SUITE = "OCRA-1:HOTP-SHA1-6:QH10-S";

/**
 * OCRA for `OCRA-1:HOTP-SHA1-6:QH10-S` (RFC 6287): the suite in ASCII, a 0x00 byte, the challenge
 * hex right-padded with `0` to 128 bytes, the session key hex left-padded with `0` to 64 bytes;
 * HMAC-SHA1, HOTP dynamic truncation (RFC 4226), six digits.
 */
export function ocra(key: Buffer, challenge: string, sessionKey: string): string {
  if (!/^[0-9a-fA-F]{1,256}$/.test(challenge)) throw new Error(`not a hex challenge: ${challenge}`);
  if (!/^[0-9a-fA-F]{1,128}$/.test(sessionKey)) throw new Error(`not a hex session key: ${sessionKey}`);
  const message = Buffer.concat([
    Buffer.from(OCRA_SUITE, "ascii"),
    Buffer.from([0]),
    Buffer.from(challenge.padEnd(256, "0"), "hex"),
    Buffer.from(sessionKey.padStart(128, "0"), "hex"),
  ]);
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary =
    ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1_000_000).padStart(6, "0");
}

/** `count` consecutive bytes from `first`, as lowercase hex. */
function run(first: number, count: number): string {
  return Buffer.from(Array.from({ length: count }, (_, i) => first + i)).toString("hex");
}

/** Checks [`ocra`] against the vectors of shared/tiqr-protocol.md; throws on a mismatch. */
export function ocraSelfTest(): void {
  const key = Buffer.from("3132333435363738393031323334353637383930313233343536373839303132", "hex");
  const vectors: [string, string, string][] = [
    ["0000000000", run(0x00, 32), "525367"],
    ["1111111111", run(0x20, 32), "401066"],
    ["ffffffffff", run(0xe0, 32), "570983"],
    ["0000000000", run(0x00, 16), "539871"],
    ["ffffffffff", run(0xf0, 16), "349241"],
  ];
  for (const [challenge, session, expected] of vectors) {
    const got = ocra(key, challenge, session);
    if (got !== expected) {
      throw new Error(`OCRA self-test: Q=${challenge} S=${session} gave ${got}, expected ${expected}`);
    }
  }
}

export type Flavor = "android" | "ios";

/** The `service` part of the enrollment metadata, as the app stores it. */
export type Service = {
  displayName: string;
  identifier: string;
  logoUrl: string;
  infoUrl: string;
  authenticationUrl: string;
  ocraSuite: string;
  enrollmentUrl: string;
};

/** A parsed `tiqrauth://[<identity>@]<service identifier>/<sessionKey>/<challenge>/<sp>/2`. */
export type SignInQr = {
  identity?: string;
  service: string;
  sessionKey: string;
  challenge: string;
  sp: string;
  version: string;
};

export function parseSignInUrl(url: string): SignInQr {
  const prefix = "tiqrauth://";
  if (!url.startsWith(prefix)) throw new Error(`not a tiqrauth URL: ${url}`);
  const parts = url.slice(prefix.length).split("/");
  if (parts.length !== 5) throw new Error(`a tiqrauth URL has five parts: ${url}`);
  const [authority, sessionKey, challenge, sp, version] = parts;
  const at = authority.lastIndexOf("@");
  const identity = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : undefined;
  const service = at >= 0 ? authority.slice(at + 1) : authority;
  if (!service || !sp) throw new Error(`empty service or sp identifier in ${url}`);
  if (!/^[0-9a-fA-F]+$/.test(sessionKey) || !/^[0-9a-fA-F]+$/.test(challenge)) {
    throw new Error(`sessionKey and challenge must be hex in ${url}`);
  }
  return { identity, service, sessionKey, challenge, sp, version };
}

const METADATA_FIELDS = [
  "displayName",
  "identifier",
  "logoUrl",
  "infoUrl",
  "authenticationUrl",
  "ocraSuite",
  "enrollmentUrl",
] as const;

function pinMask(pin: string): Buffer {
  return createHash("sha256").update(pin, "utf8").digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((byte, i) => byte ^ b[i]));
}

function nonEmptyString(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`metadata ${what} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function absoluteUrl(value: string, what: string): string {
  try {
    new URL(value);
  } catch {
    throw new Error(`metadata ${what} must be an absolute URL, got ${value}`);
  }
  return value;
}

export class Phone {
  readonly flavor: Flavor;
  private readonly pin: string;
  /** secret XOR SHA-256(PIN). */
  private stored?: Buffer;
  private service?: Service;
  identity = "";
  displayName = "";

  constructor(flavor: Flavor, pin: string) {
    this.flavor = flavor;
    this.pin = pin;
  }

  private get language(): string {
    return this.flavor === "ios" ? "fr-FR" : "fr";
  }

  /** Scans the enrollment QR, fetches the metadata, makes a secret and posts it. */
  async enroll(qr: string): Promise<{ identity: string; body: string }> {
    const prefix = "tiqrenroll://";
    if (!qr.startsWith(prefix)) throw new Error(`not a tiqrenroll URL: ${qr}`);
    const metadataUrl = absoluteUrl(qr.slice(prefix.length), "URL in the QR");

    const reply = await fetch(metadataUrl, {
      headers:
        this.flavor === "android"
          ? { Accept: "application/json", "X-TIQR-Protocol-Version": "2" }
          : { Accept: "application/json" },
    });
    const text = await reply.text();
    if (reply.status !== 200) throw new Error(`metadata: HTTP ${reply.status}: ${text}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`metadata is not JSON: ${text}`);
    }
    const root = json as { service?: Record<string, unknown>; identity?: Record<string, unknown> };
    if (typeof root !== "object" || root === null || !root.service || !root.identity) {
      throw new Error(`metadata needs "service" and "identity": ${text}`);
    }
    // Android refuses the enrollment unless all nine strings are there and non-null.
    const service = {} as Service;
    for (const field of METADATA_FIELDS) {
      service[field] = nonEmptyString(root.service[field], `service.${field}`);
    }
    const identity = nonEmptyString(root.identity.identifier, "identity.identifier");
    const displayName = nonEmptyString(root.identity.displayName, "identity.displayName");
    for (const field of ["logoUrl", "infoUrl", "authenticationUrl", "enrollmentUrl"] as const) {
      absoluteUrl(service[field], `service.${field}`);
    }
    if (service.ocraSuite !== OCRA_SUITE) throw new Error(`unexpected OCRA suite ${service.ocraSuite}`);
    // The service identifier is the host of the later tiqrauth:// URLs.
    if (service.identifier !== service.identifier.toLowerCase() || /[/@\s]/.test(service.identifier)) {
      throw new Error(`service.identifier must be a lowercase host-like name: ${service.identifier}`);
    }
    // An `@` or `+` in the identity breaks the apps; it must be opaque, at least 80 bits.
    if (!/^[a-z0-9]{16,}$/.test(identity)) {
      throw new Error(`identity.identifier must be opaque lowercase [a-z0-9], 80+ bits: ${identity}`);
    }

    if (this.flavor === "ios") {
      // iOS downloads the logo during enrollment and fails if it cannot.
      const logo = await fetch(service.logoUrl);
      await logo.arrayBuffer();
      const type = logo.headers.get("content-type") ?? "";
      if (logo.status !== 200 || !type.startsWith("image/")) {
        throw new Error(`logo: HTTP ${logo.status}, content-type ${type}`);
      }
    }

    const secret = randomBytes(32);
    const hex = secret.toString("hex");
    const fields: Record<string, string> =
      this.flavor === "android"
        ? { secret: hex, language: this.language, operation: "register" }
        : {
            secret: hex.toUpperCase(),
            language: this.language,
            notificationType: "APNS",
            notificationAddress: "(null)",
            version: "(null)",
            operation: "register",
          };
    const response = await this.post(service.enrollmentUrl, fields);
    const body = await response.text();
    if (response.status !== 200) throw new Error(`enrollment: HTTP ${response.status}: ${body}`);
    if (body === "OK") {
      this.stored = xor(secret, pinMask(this.pin));
      this.service = service;
      this.identity = identity;
      this.displayName = displayName;
    }
    return { identity, body };
  }

  /** Scans a sign-in QR, types the PIN (`opts.pin`, else the right one) and posts the response. */
  async login(url: string, opts: { pin?: string; identity?: string } = {}): Promise<string> {
    const service = this.enrolled();
    const qr = parseSignInUrl(url);
    // The app looks the account up by the QR's service identifier (and identity, if named).
    if (qr.service !== service.identifier) {
      throw new Error(`this phone has no account for ${qr.service} (it knows ${service.identifier})`);
    }
    const userId = opts.identity ?? qr.identity ?? this.identity;
    if (qr.identity !== undefined && qr.identity !== userId) {
      throw new Error(`the QR names ${qr.identity}, not ${userId}`);
    }
    const response = ocra(this.key(opts.pin ?? this.pin), qr.challenge, qr.sessionKey);
    const fields: Record<string, string> =
      this.flavor === "android"
        ? {
            sessionKey: qr.sessionKey,
            userId,
            response,
            language: this.language,
            operation: "login",
          }
        : {
            sessionKey: qr.sessionKey,
            userId,
            response,
            language: this.language,
            notificationType: "APNS",
            notificationAddress: "(null)",
            version: "(null)",
            operation: "login",
          };
    const reply = await this.post(service.authenticationUrl, fields);
    return reply.text();
  }

  /** The six digits the app shows in offline mode for this QR (after the PIN). */
  offlineResponse(url: string, pin?: string): string {
    this.enrolled();
    const qr = parseSignInUrl(url);
    return ocra(this.key(pin ?? this.pin), qr.challenge, qr.sessionKey);
  }

  private enrolled(): Service {
    if (!this.service || !this.stored) throw new Error("this phone is not enrolled");
    return this.service;
  }

  /** The key as decrypted with the PIN typed: a wrong PIN gives a wrong key, silently. */
  private key(pin: string): Buffer {
    if (!this.stored) throw new Error("this phone is not enrolled");
    return xor(this.stored, pinMask(pin));
  }

  /**
   * Android: a labelled form post with its protocol header. iOS: the same bytes with no
   * Content-Type (a Buffer body makes fetch send none).
   */
  private async post(url: string, fields: Record<string, string>): Promise<Response> {
    const response =
      this.flavor === "android"
        ? await fetch(url, {
            method: "POST",
            headers: {
              Accept: "application/json",
              "Content-Type": "application/x-www-form-urlencoded",
              "X-TIQR-Protocol-Version": "2",
            },
            // Java's URLEncoder: `(null)` would be `%28null%29`, a space `+`.
            body: new URLSearchParams(fields).toString(),
          })
        : await fetch(url, {
            method: "POST",
            // iOS escapes less: its `(null)` arrives as is.
            body: Buffer.from(
              Object.entries(fields)
                .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
                .join("&"),
              "utf8",
            ),
          });
    // Android reads a reply labelled protocol version 2 as JSON: "OK" must come unlabelled.
    const version = response.headers.get("x-tiqr-protocol-version");
    if (version !== null && version !== "1") {
      throw new Error(`the reply must be plain text without X-TIQR-Protocol-Version (got ${version})`);
    }
    return response;
  }
}
