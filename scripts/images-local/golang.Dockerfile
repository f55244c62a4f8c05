# A stand-in for golang:1.26-bookworm, for scripts/images-local.sh: Debian 12
# from mmdebstrap (minbase with what the official image adds for cgo: gcc,
# libc6-dev, make, pkg-config, git, CA certificates) and this machine's Go as
# the named context "go". The build context holds golang-rootfs.tar.
FROM scratch
ADD golang-rootfs.tar /
COPY --from=go / /usr/local/go
# As the official image sets them.
ENV GOTOOLCHAIN=local GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /go/src /go/bin && chmod -R 1777 /go && go version
WORKDIR /go
