#!/usr/bin/env python3
"""Writes kernel_banners.json: for every Debian kernel of kernels/list/<arch>/images.json, the version
string its own image carries (the x86 boot header's kernel_version string, or the arm64 image's
`Linux version ...` banner), read from the image package on the mirror. Only the start of each package
is downloaded: the image (/boot/vmlinuz-*, or /usr/lib/modules/*/vmlinuz since 7.x) comes first in its data.tar.

    python3 userspace/driver-loader/tests/data/kernel_banners.py   # from the repository root
"""
import concurrent.futures, gzip, io, json, lzma, os, re, struct, sys, tarfile, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../../.."))
OUT = os.path.join(os.path.dirname(__file__), "kernel_banners.json")


def banner_of(url):
    resp = urllib.request.urlopen(url, timeout=120)
    f = io.BufferedReader(resp, 1 << 16)
    assert f.read(8) == b"!<arch>\n"
    while True:
        h = f.read(60)
        name, size = h[:16].strip().decode(), int(h[48:58])
        if name.startswith("data.tar"):
            break
        f.read(size + (size & 1))
    stream = lzma.LZMAFile(f)
    t = tarfile.open(fileobj=stream, mode="r|")
    for m in t:
        if not (m.name.rsplit("/", 1)[-1].startswith("vmlinu") and m.isfile()):
            continue
        x = t.extractfile(m)
        head = x.read(1 << 16)
        if head[0x202:0x206] == b"HdrS":
            off = struct.unpack("<H", head[0x20E:0x210])[0] + 0x200
            return "bzimage", head[off:head.index(b"\0", off)].decode()
        data = head + x.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif data[:2] == b"MZ" and data[4:8] == b"zimg":
            start, length = struct.unpack("<II", data[8:16])
            comp = data[0x18:0x20].rstrip(b"\0").decode()
            payload = data[start:start + length]
            if comp == "gzip":
                data = gzip.decompress(payload)
            else:
                raise ValueError("zboot " + comp)
        # Since 6.1 the image also holds init/version.o's banner with no build number (`# SMP ...`);
        # the one the kernel prints has it (`#1 SMP ...`).
        found = [m.group(0) for m in re.finditer(rb"Linux version [^\n\0]*\n", data)]
        numbered = [b for b in found if re.search(rb"\) #\d", b)]
        return "image", (numbered or found)[0].decode()
    raise ValueError("no vmlinuz in " + url)


def main():
    out = {}
    jobs = []
    for arch in ("x86_64", "aarch64"):
        images = json.load(open(os.path.join(ROOT, "kernels/list", arch, "images.json")))
        for release, image in images.items():
            jobs.append((arch, release, image))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = {pool.submit(banner_of, image["url"]): (arch, release, image) for arch, release, image in jobs}
        for fut in concurrent.futures.as_completed(futures):
            arch, release, image = futures[fut]
            kind, banner = fut.result()
            out.setdefault(arch, {})[release] = {"uname": image["uname"], "image": kind, "banner": banner}
            print(arch, release, banner.strip(), file=sys.stderr)
    for arch in out:
        out[arch] = dict(sorted(out[arch].items()))
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
