/**
 * Hostile uploads, generated at test time: inputs that try to make ffprobe reach something
 * other than the one object (other hosts, local files, UDP ports, the object again and again)
 * or outgrow its memory. Each names the reason class the extractor must store.
 *
 * The network targets are a TCP and a UDP listener the test starts on loopback; the local
 * files are real media on disk (so a probe that reached one would come back `ok` describing
 * it) and a "secret" text file.
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as path from "node:path";
import { ensureMedia, runFfmpeg } from "../../media/media";

/**
 * What the extractor must say of a case: `reference`, `memory` and `cpu` name the refusal; `bounded`
 * cases may end either way (ffprobe's own checks catch them), but within the same bounds.
 */
export type HostileVerdict = "reference" | "memory" | "cpu" | "bounded";

export interface HostileCase {
  name: string;
  /** The key's extension (the pipeline ignores it; it makes the corpus readable). */
  ext: string;
  /** The attack. */
  attack: string;
  verdict: HostileVerdict;
  bytes: Buffer;
}

/** Loopback targets: would-be victims of a server-side request. */
export interface Listeners {
  tcpPort: number;
  udpPort: number;
  /** TCP connections accepted and UDP datagrams received so far. */
  hits(): { tcp: number; udp: number };
  close(): Promise<void>;
}

export async function startListeners(): Promise<Listeners> {
  let tcp = 0;
  let udp = 0;
  const server = net.createServer((socket) => {
    tcp += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = dgram.createSocket("udp4");
  socket.on("message", () => {
    udp += 1;
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    tcpPort: (server.address() as net.AddressInfo).port,
    udpPort: socket.address().port,
    hits: () => ({ tcp, udp }),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

export interface CorpusPaths {
  /** A real MP4 on local disk: a probe that reached it would describe it. */
  localMedia: string;
  /** A local text file standing for a secret (credentials, /proc/self/environ). */
  secret: string;
}

const ffconcat = (...lines: string[]) => Buffer.from(`ffconcat version 1.0\n${lines.join("\n")}\n`);

function mpd(baseUrl: string): Buffer {
  return Buffer.from(`<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
<BaseURL>${baseUrl}</BaseURL>
<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000" codecs="avc1.42c00d" width="320" height="240"><BaseURL>clip.mp4</BaseURL></Representation></AdaptationSet></Period>
</MPD>
`);
}

function m3u8(segment: string): Buffer {
  return Buffer.from(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n${segment}\n#EXT-X-ENDLIST\n`);
}

function sdp(port: number): Buffer {
  return Buffer.from(
    `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=probe\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`,
  );
}

/** An MP4 with `tracks` copies of one short AAC track: small on disk, hundreds of MB to probe. */
async function manyTrackMp4(dir: string, tracks: number): Promise<Buffer> {
  const one = path.join(dir, "one-track.m4a");
  const many = path.join(dir, `tracks-${tracks}.mp4`);
  await runFfmpeg(["-f", "lavfi", "-i", "sine=f=440:d=0.2", "-c:a", "aac", "-b:a", "16k", "-f", "mp4", one]);
  const maps = Array.from({ length: tracks }, () => ["-map", "0:a"]).flat();
  await runFfmpeg(["-i", one, ...maps, "-c", "copy", "-f", "mp4", many]);
  return fs.readFile(many);
}

/**
 * A valid small MP4 whose sample-size table (stsz) claims 400 million samples: ffprobe
 * allocates for the claim before it finds the table short.
 */
async function hugeSampleCountMp4(): Promise<Buffer> {
  const bytes = Buffer.from(await fs.readFile(await ensureMedia("mp4-faststart")));
  const at = bytes.indexOf("stsz");
  if (at < 0) throw new Error("mp4-faststart has no stsz box");
  // stsz: size(4) 'stsz'(4) version+flags(4) sample_size(4) sample_count(4)
  bytes.writeUInt32BE(0, at + 8);
  bytes.writeUInt32BE(400_000_000, at + 12);
  return bytes;
}

/** A PNG whose header claims 60000 x 60000 pixels, with the header's CRC fixed up so it parses. */
function hugePng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(60_000, 0);
  ihdr.writeUInt32BE(60_000, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(6, 9); // RGBA
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const idat = Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** An EBML element: ID bytes (hex), size as a variable-length integer, data. */
function ebml(id: string, data: Buffer): Buffer {
  let len = 1;
  while (data.length >= 2 ** (7 * len) - 1) len++;
  const size = Buffer.alloc(len);
  size.writeUIntBE(data.length + 2 ** (7 * len), 0, len);
  return Buffer.concat([Buffer.from(id, "hex"), size, data]);
}

function ebmlUint(value: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(value, 0, 6);
  return b;
}

/**
 * A valid Matroska file of about 2 MB with `count` chapters whose UIDs descend: FFmpeg looks
 * for an existing chapter of the same id among all earlier ones (avpriv_new_chapter) once ids
 * stop rising, so reading the header costs count^2/2 comparisons: minutes of CPU, a handful
 * of reads, a few MB of memory.
 */
export function manyChaptersMkv(count: number): Buffer {
  const header = ebml(
    "1a45dfa3",
    Buffer.concat([ebml("4282", Buffer.from("matroska")), ebml("4287", ebmlUint(4)), ebml("4285", ebmlUint(2))]),
  );
  const info = ebml("1549a966", ebml("2ad7b1", ebmlUint(1_000_000)));
  const audio = ebml("e1", Buffer.concat([ebml("b5", Buffer.from([0x45, 0xfa, 0, 0])), ebml("9f", ebmlUint(1))]));
  const track = ebml(
    "1654ae6b",
    ebml(
      "ae",
      Buffer.concat([
        ebml("d7", ebmlUint(1)),
        ebml("73c5", ebmlUint(1)),
        ebml("83", ebmlUint(2)),
        ebml("86", Buffer.from("A_PCM/INT/LIT")),
        ebml("6264", ebmlUint(16)),
        audio,
      ]),
    ),
  );
  const atoms = Array.from({ length: count }, (_, i) =>
    ebml("b6", Buffer.concat([ebml("73c4", ebmlUint(count + 1 - i)), ebml("91", ebmlUint(i * 1_000_000))])),
  );
  const chapters = ebml("1043a770", ebml("45b9", Buffer.concat(atoms)));
  const cluster = ebml("1f43b675", Buffer.concat([ebml("e7", ebmlUint(0)), ebml("a3", Buffer.alloc(164))]));
  cluster.writeUInt8(0x81, cluster.length - 164); // block of track 1, timecode 0, keyframe
  cluster.writeUInt8(0x80, cluster.length - 161);
  return Buffer.concat([header, ebml("18538067", Buffer.concat([info, track, chapters, cluster]))]);
}

/** The corpus, built against the given listeners and local files. `dir` is scratch space. */
export async function hostileCorpus(listeners: Listeners, local: CorpusPaths, dir: string): Promise<HostileCase[]> {
  const tcp = `http://127.0.0.1:${listeners.tcpPort}`;
  const fileUrl = `file://${local.localMedia}`;
  const reference = (name: string, ext: string, attack: string, bytes: Buffer): HostileCase => ({
    name,
    ext,
    attack,
    verdict: "reference",
    bytes,
  });
  return [
    reference("dash-to-listener", "mpd", "DASH manifest whose BaseURL is an internal host and port", mpd(`${tcp}/`)),
    reference("dash-to-local-file", "mpd", "DASH manifest whose BaseURL is a local media file", mpd(`${fileUrl}#`)),
    reference("hls-to-listener", "m3u8", "HLS playlist whose segment is on an internal host", m3u8(`${tcp}/seg.ts`)),
    reference("hls-to-local-file", "m3u8", "HLS playlist whose segment is a local file", m3u8(fileUrl)),
    reference(
      "concat-local-file",
      "ffconcat",
      "concat list naming a local media file",
      ffconcat(`file '${local.localMedia}'`),
    ),
    reference("concat-listener", "ffconcat", "concat list naming an internal URL", ffconcat(`file '${tcp}/x.mp4'`)),
    reference(
      "concat-subfile-secret",
      "ffconcat",
      "concat list reading a local file through the subfile protocol",
      ffconcat(`file 'subfile,,start,0,end,0,,:${local.secret}'`),
    ),
    reference(
      "concat-self",
      "ffconcat",
      "self-referencing concat list (a read loop)",
      ffconcat("file object", "file object"),
    ),
    reference("sdp-udp", "sdp", "SDP session that makes ffprobe bind and wait on a UDP port", sdp(listeners.udpPort)),
    {
      name: "many-tracks",
      ext: "mp4",
      attack: "MP4 with 1,000 audio tracks: about 650 MB of memory to probe",
      verdict: "memory",
      bytes: await manyTrackMp4(dir, 1000),
    },
    {
      name: "huge-sample-count",
      ext: "mp4",
      attack: "tiny MP4 whose sample table claims 400 million samples",
      verdict: "bounded",
      bytes: await hugeSampleCountMp4(),
    },
    {
      name: "many-chapters",
      ext: "mkv",
      attack: "4 MB Matroska with 200,000 chapters in descending id order: quadratic CPU, few reads",
      verdict: "cpu",
      bytes: manyChaptersMkv(200_000),
    },
    {
      name: "huge-dimensions",
      ext: "png",
      attack: "tiny PNG claiming 60000 x 60000 pixels",
      verdict: "bounded",
      bytes: hugePng(),
    },
  ];
}

/** Things a stored reason must never contain: addresses, ports, URLs, paths, memory addresses. */
export const LEAK_PATTERNS: RegExp[] = [
  /\b\d{1,3}(\.\d{1,3}){3}\b/,
  /localhost/i,
  /:\d{2,5}\b/,
  /[a-z]+:\/\//i,
  /(^|[\s'"(])\/[a-z]/i,
  /0x[0-9a-f]{4,}/i,
  /connection|refused|timed out|unreachable|resolve/i,
];
