package imagetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRebase(t *testing.T) {
	dirs := []string{"/src", "/out"}
	for _, tc := range []struct{ in, want string }{
		{"go build -o /out/x ./cmd/x", "go build -o R/out/x ./cmd/x"},
		{"cp /src/a /out", "cp R/src/a R/out"},
		{"/out/x --version", "R/out/x --version"},
		{`GOPATH=/src/go sh -c "ls /out/"`, `GOPATH=R/src/go sh -c "ls R/out/"`},
		{"ls /outside /source /usr/src", "ls /outside /source /usr/src"},
		{"echo a/out/b ./src", "echo a/out/b ./src"},
		{"go build >/out/log 2>&1 && (cd /src)", "go build >R/out/log 2>&1 && (cd R/src)"},
	} {
		require.Equal(t, tc.want, rebase(tc.in, dirs, "R"), tc.in)
	}
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	}))
	return files
}

func TestCopyContext(t *testing.T) {
	for _, tc := range []struct {
		name, ignore string
		want         []string
	}{
		{"no .dockerignore", "", []string{"a/go.mod", "a/testdata/x", "a/x_test.go", "b/y", "c/z"}},
		{"excluded", "b\n**/testdata\n", []string{".dockerignore", "a/go.mod", "a/x_test.go", "c/z"}},
		{"allowed", "*\n!a/\n!c\n**/*_test.go\n", []string{"a/go.mod", "a/testdata/x", "c/z"}},
		{"allowed below", "*\n!b/y\n", []string{"b/y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			files := map[string]string{"a/go.mod": "", "a/testdata/x": "", "a/x_test.go": "", "b/y": "", "c/z": ""}
			if tc.ignore != "" {
				files[".dockerignore"] = tc.ignore
			}
			write(t, src, files)
			require.NoError(t, CopyContext(src, dst))
			require.ElementsMatch(t, tc.want, list(t, dst))
		})
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	ctxDir := filepath.Join(dir, "context")
	write(t, ctxDir, map[string]string{"app/name.txt": "hello\n", "app/other.txt": "", "lib/lib.txt": "lib\n"})
	write(t, dir, map[string]string{"Dockerfile": `# syntax=docker/dockerfile:1
FROM debian:12 AS build
ARG NAME
ARG GREETING=hi
ENV DEST=/out
WORKDIR /src
COPY app/*.txt app/
COPY lib/ /src/lib/
WORKDIR app
RUN --mount=type=cache,target=/root/.cache \
    mkdir -p /out && \
    { echo "$GREETING $NAME"; cat name.txt ../lib/lib.txt; } >/out/${NAME}
FROM scratch AS base
USER 65532
EXPOSE 9090
FROM base AS final
COPY --from=build /out/x /usr/local/bin/x
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/x"]
`})
	d, err := ParseFile(filepath.Join(dir, "Dockerfile"), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"final"}, d.Leaves())

	b := &Build{File: d, Context: ctxDir, Dir: filepath.Join(dir, "stages"), Args: map[string]string{"NAME": "x"}, Env: os.Environ(), Log: t.Output()}
	im, err := b.Target(t.Context(), "final")
	require.NoError(t, err)
	require.Equal(t, "scratch", im.From)
	require.Equal(t, "65532", im.User)
	require.Equal(t, []string{"9090", "8080"}, im.Expose)
	require.Equal(t, []string{"/usr/local/bin/x"}, im.Entrypoint)
	require.Equal(t, []string{"usr/local/bin/x"}, list(t, im.Root))
	got, err := os.ReadFile(im.HostPath("/usr/local/bin/x"))
	require.NoError(t, err)
	require.Equal(t, "hi x\nhello\nlib\n", string(got))

	build := b.built["build"]
	require.Equal(t, "/src/app", build.WorkDir)
	require.ElementsMatch(t, []string{"src/app/name.txt", "src/app/other.txt", "src/lib/lib.txt", "out/x"}, list(t, build.Root))
	require.Contains(t, build.Env(), "DEST=/out")
}

func TestBuildRefusesWhatItCannotFollow(t *testing.T) {
	for _, tc := range []struct{ name, dockerfile, want string }{
		{"instruction", "FROM a AS b\nHEALTHCHECK NONE\n", "HEALTHCHECK is not supported"},
		{"run flag", "FROM a AS b\nRUN --network=none true\n", "--network=none is not supported"},
		{"copy from an image", "FROM a AS b\nCOPY --from=alpine /x /y\n", "copying from an image"},
		{"system directory", "FROM a AS b\nRUN touch /usr/x\nFROM b AS c\nCOPY --from=b /usr/x /x\n", "/usr/x is a system directory"},
		{"shell entrypoint", "FROM a AS b\nENTRYPOINT /x\n", "use the exec form"},
		{"missing source", "FROM a AS b\nCOPY nothing /x\n", "nothing: no such file in the build context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{"Dockerfile": tc.dockerfile})
			d, err := ParseFile(filepath.Join(dir, "Dockerfile"), nil)
			require.NoError(t, err)
			leaves := d.Leaves()
			b := &Build{File: d, Context: dir, Dir: filepath.Join(dir, "stages"), Env: os.Environ()}
			_, err = b.Target(t.Context(), leaves[len(leaves)-1])
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.want), "%v", err)
		})
	}
}
