# A stand-in for gcr.io/distroless/base-debian12:nonroot, for
# scripts/images-local.sh, made as distroless makes it: the files of Debian 12
# packages (the build context's .debs: base-files, netbase, tzdata,
# media-types, ca-certificates, libc6, libssl3 and what libc6 needs), not
# installed (no shell, no dpkg, no package scripts), package records under
# /var/lib/dpkg/status.d, the CA bundle, and users root, nobody and nonroot
# (65532).
FROM golang:1.26-bookworm AS unpack
COPY *.deb /debs/
RUN set -eu; \
    mkdir -p /rootfs/var/lib/dpkg/status.d /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/home/nonroot /rootfs/root; \
    for deb in /debs/*.deb; do \
      dpkg-deb -x "$deb" /rootfs; \
      dpkg-deb -f "$deb" >"/rootfs/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"; \
    done; \
    cat /rootfs/usr/share/ca-certificates/mozilla/*.crt >/rootfs/etc/ssl/certs/ca-certificates.crt; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/rootfs/etc/passwd; \
    printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >/rootfs/etc/group; \
    chmod 1777 /rootfs/tmp; chmod 700 /rootfs/root; chown 65532:65532 /rootfs/home/nonroot; \
    rm -rf /rootfs/usr/share/doc /rootfs/usr/share/man /rootfs/usr/share/info /rootfs/usr/share/lintian

FROM scratch
COPY --from=unpack /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
