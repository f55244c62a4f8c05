package imagetest

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The repository root: this module's parent directory.
const root = ".."

// Build arguments distinct enough to be found in --version.
const (
	testVersion = "v0.0.0-imagetest"
	testCommit  = "0123abc"
)

// services are the directories under services/ that hold a Go module:
// what CI builds images of.
func services(t *testing.T) []string {
	t.Helper()
	mods, err := filepath.Glob(filepath.Join(root, "services", "*", "go.mod"))
	require.NoError(t, err)
	require.NotEmpty(t, mods, "no services/*/go.mod")
	var names []string
	for _, m := range mods {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

func parse(t *testing.T, args map[string]string) *Dockerfile {
	t.Helper()
	d, err := ParseFile(filepath.Join(root, "Dockerfile"), args)
	require.NoError(t, err)
	return d
}

// TestDockerfileStages checks the layout the build relies on: a stage per
// service and no other image, each shipping /usr/local/bin/<service> as a
// non-root user, built and run on the same Debian release.
func TestDockerfileStages(t *testing.T) {
	d := parse(t, nil)
	require.ElementsMatch(t, services(t), d.Leaves(),
		"the Dockerfile's final stages must be exactly the directories of services/ (CI builds one image per directory)")

	build, ok := d.Stage("build")
	require.True(t, ok, "no stage called build")
	var env []string
	for _, in := range build.Instructions {
		if in.Command == "env" {
			for _, kv := range in.EnvPairs() {
				env = append(env, kv[0]+"="+kv[1])
			}
		}
	}
	require.Contains(t, env, "CGO_ENABLED=1", "confluent-kafka-go needs cgo")
	require.Contains(t, env, "GOWORK=off", "each service builds alone, through its replace directive")

	for _, name := range services(t) {
		t.Run(name, func(t *testing.T) {
			chain := stageChain(t, d, name)
			base := chain[len(chain)-1].Base
			require.Regexp(t, `^gcr\.io/distroless/base-debian12:nonroot(@sha256:[0-9a-f]{64})?$`, base)
			require.Regexp(t, `^golang:[0-9.]+-bookworm(@sha256:[0-9a-f]{64})?$`, build.Base,
				"the build stage's Debian (bookworm is 12) must be the runtime's: the binary links its glibc")

			var user string
			var entrypoint []string
			var copied bool
			for _, s := range slices.Backward(chain) {
				for _, in := range s.Instructions {
					switch in.Command {
					case "user":
						user = in.Args[0]
					case "entrypoint":
						entrypoint = in.Args
					case "copy":
						from, _ := in.Flag("from")
						copied = copied || (from == "build" && slices.Equal(in.Args, []string{"/out/" + name, "/usr/local/bin/" + name}))
					}
				}
			}
			require.True(t, copied, "stage %s must COPY --from=build /out/%s /usr/local/bin/%s", name, name, name)
			require.Equal(t, []string{"/usr/local/bin/" + name}, entrypoint)
			uid, _, _ := strings.Cut(user, ":")
			require.NotContains(t, []string{"", "0", "root"}, uid, "the image must not run as root")
		})
	}
}

// stageChain is the stage called name, its base stage, and so on.
func stageChain(t *testing.T, d *Dockerfile, name string) []*Stage {
	var chain []*Stage
	for s, ok := d.Stage(name); ok; s, ok = d.Stage(s.Base) {
		chain = append(chain, s)
		require.Less(t, len(chain), 100, "FROM loop at stage %s", name)
	}
	require.NotEmpty(t, chain, "no stage %s", name)
	return chain
}

// TestContext checks that the build context holds pkg/ and services/ and
// nothing a binary is not built from.
func TestContext(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, CopyContext(root, dir))
	top, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range top {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"pkg", "services"}, names)
	require.FileExists(t, filepath.Join(dir, "pkg", "go.mod"))
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		require.NotEqual(t, "testdata", d.Name(), p)
		require.False(t, strings.HasSuffix(p, "_test.go"), p)
		return nil
	}))
}

// TestImagesBuildWithoutDocker runs the Dockerfile's build for every
// service on this machine and runs the result as the image would:
// ENTRYPOINT --version must name the build's version and commit and the
// librdkafka that confluent-kafka-go bundles.
func TestImagesBuildWithoutDocker(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("the images are Linux binaries; this is %s", runtime.GOOS)
	}
	ctxDir := t.TempDir()
	require.NoError(t, CopyContext(root, ctxDir))
	debian12 := isDebian12(t)
	for _, name := range services(t) {
		t.Run(name, func(t *testing.T) {
			args := map[string]string{"SERVICE": name, "VERSION": testVersion, "COMMIT": testCommit}
			b := &Build{
				File:    parse(t, args),
				Context: ctxDir,
				Dir:     t.TempDir(),
				Args:    args,
				Env:     buildEnv(),
				Log:     t.Output(),
			}
			im, err := b.Target(t.Context(), name)
			require.NoError(t, err)
			require.Contains(t, im.Expose, "9090", "the admin port")

			cmd, err := im.Command(t.Context(), "--version")
			require.NoError(t, err)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			t.Logf("%s --version: %s", name, out)
			m := regexp.MustCompile(`^` + name + ` ` + regexp.QuoteMeta(testVersion) +
				` \(commit ` + testCommit + `, go[0-9.]+ linux/[a-z0-9]+\), librdkafka ([0-9][^ ]*)\n$`).FindSubmatch(out)
			require.NotNil(t, m, "%s --version printed %q", name, out)
			require.Equal(t, "v"+string(m[1]), bundledLibrdkafka(t, filepath.Join(ctxDir, "services", name)),
				"confluent-kafka-go vX.Y.Z bundles librdkafka X.Y.Z")

			checkLinks(t, im.HostPath(im.Entrypoint[0]), debian12)
		})
	}
}

// buildEnv is this machine's environment without what the build image does
// not set and the build must not depend on.
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GOFLAGS", k == "GOWORK", k == "GOOS", k == "GOARCH", k == "GOAMD64", k == "GOARM64",
			strings.HasPrefix(k, "CGO_"), k == "CC", k == "CXX":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// bundledLibrdkafka is the version of confluent-kafka-go the module in dir
// requires.
func bundledLibrdkafka(t *testing.T, dir string) string {
	cmd := exec.Command("go", "mod", "edit", "-json")
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	var mod struct {
		Require []struct{ Path, Version string }
	}
	require.NoError(t, json.Unmarshal(out, &mod))
	for _, r := range mod.Require {
		if r.Path == "github.com/confluentinc/confluent-kafka-go/v2" {
			return r.Version
		}
	}
	t.Fatalf("%s/go.mod does not require confluent-kafka-go", dir)
	return ""
}

// The shared libraries of distroless/base-debian12: glibc's, and OpenSSL.
var runtimeLibs = []string{
	"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
	"ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libssl.so.3", "libcrypto.so.3",
}

// debian12GLIBC is the glibc of Debian 12, the runtime image's.
const debian12GLIBC = "2.36"

// checkLinks checks that the binary at path needs only libraries the
// runtime image has and, when it was built on Debian 12 as the build stage
// builds it, no glibc symbol newer than Debian 12's.
func checkLinks(t *testing.T, path string, debian12 bool) {
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	for _, l := range libs {
		require.Contains(t, runtimeLibs, l, "%s needs %s, which the runtime image lacks", path, l)
	}
	if !debian12 {
		t.Logf("not checking glibc symbol versions: this machine is not Debian 12 like the build stage")
		return
	}
	syms, err := f.ImportedSymbols()
	require.NoError(t, err)
	newest := "2.0"
	for _, s := range syms {
		if v, ok := strings.CutPrefix(s.Version, "GLIBC_"); ok && versionLess(newest, v) {
			newest = v
		}
	}
	require.False(t, versionLess(debian12GLIBC, newest), "%s needs GLIBC_%s; Debian 12 has %s", path, newest, debian12GLIBC)
	t.Logf("%s links %s, glibc symbols up to GLIBC_%s", filepath.Base(path), strings.Join(libs, " "), newest)
}

// versionLess compares dotted version numbers.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func isDebian12(t *testing.T) bool {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return false
	}
	defer f.Close()
	fields := map[string]string{}
	for s := bufio.NewScanner(f); s.Scan(); {
		if k, v, ok := strings.Cut(s.Text(), "="); ok {
			fields[k] = strings.Trim(v, `"`)
		}
	}
	t.Logf("this machine: %s", fields["PRETTY_NAME"])
	return fields["ID"] == "debian" && fields["VERSION_ID"] == "12"
}
