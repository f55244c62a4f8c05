package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInstallDepsPrerequisites runs scripts/install-deps.sh on a PATH where a
// prerequisite is missing or too old, and apt cannot be used: it must stop at
// once with one line naming what is missing and how to get it.
func TestInstallDepsPrerequisites(t *testing.T) {
	script, err := filepath.Abs("../scripts/install-deps.sh")
	require.NoError(t, err)

	const (
		goOK     = "#!/bin/sh\necho go1.26.8\n"
		goOld    = "#!/bin/sh\necho go1.22.3\n"
		javaOK   = "#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n"
		javaOld  = "#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n"
		java8    = "#!/bin/sh\necho 'java version \"1.8.0_392\"' >&2\n"
		mvnOK    = "#!/bin/sh\necho 'Apache Maven 3.8.7'\n"
		aptGet   = "#!/bin/sh\necho 'apt-get must not run' >&2; exit 99\n"
		notRoot  = "#!/bin/sh\necho 1000\n"
		noSudoer = "#!/bin/sh\nexit 1\n"
	)
	for _, tc := range []struct {
		name  string
		tools map[string]string // fake commands on PATH besides the basic ones
		want  []string          // what the one line must say
	}{
		{
			name:  "no go",
			tools: map[string]string{"java": javaOK, "mvn": mvnOK},
			want:  []string{"Go 1.26 or newer is needed", "'go' is not on PATH", "install it"},
		},
		{
			name:  "old go",
			tools: map[string]string{"go": goOld, "java": javaOK, "mvn": mvnOK},
			want:  []string{"Go 1.26 or newer is needed", "'go' is 1.22.3"},
		},
		{
			name:  "no java, not Debian",
			tools: map[string]string{"go": goOK, "mvn": mvnOK},
			want:  []string{"Java 17 or newer is needed", "'java' is not on PATH", "no apt-get", "apt-get install default-jre-headless"},
		},
		{
			name:  "no java, apt-get without root or sudo",
			tools: map[string]string{"go": goOK, "mvn": mvnOK, "apt-get": aptGet, "id": notRoot, "sudo": noSudoer},
			want:  []string{"Java 17 or newer is needed", "apt-get needs root or sudo", "apt-get install default-jre-headless"},
		},
		{
			name:  "java 11",
			tools: map[string]string{"go": goOK, "java": javaOld, "mvn": mvnOK},
			want:  []string{"Java 17 or newer is needed", "'java' is 11.0.2", "JAVA_HOME"},
		},
		{
			name:  "java 8",
			tools: map[string]string{"go": goOK, "java": java8, "mvn": mvnOK},
			want:  []string{"Java 17 or newer is needed", "'java' is 8.0_392"},
		},
		{
			name:  "no maven",
			tools: map[string]string{"go": goOK, "java": javaOK, "apt-get": aptGet, "id": notRoot},
			want:  []string{"Maven is needed", "'mvn' is not on PATH", "apt-get install maven"},
		},
		{
			name:  "other packages missing, apt not usable",
			tools: map[string]string{"go": goOK, "java": javaOK, "mvn": mvnOK, "apt-get": aptGet, "id": notRoot},
			want:  []string{"missing Debian packages", "shellcheck", "prometheus", "apt-get needs root or sudo", "apt-get install"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			require.NoError(t, os.Mkdir(bin, 0o755))
			// The shell utilities the script uses, and nothing else.
			for _, name := range []string{"bash", "env", "sed", "sort", "head", "id", "dirname", "cat", "mkdir"} {
				if _, ok := tc.tools[name]; ok {
					continue
				}
				path, err := exec.LookPath(name)
				require.NoError(t, err)
				require.NoError(t, os.Symlink(path, filepath.Join(bin, name)))
			}
			for name, body := range tc.tools {
				if name == "go" {
					// The script reads `go env GOVERSION`.
					body = strings.Replace(body, "echo go", `[ "$1 $2" = "env GOVERSION" ] && echo go`, 1)
				}
				require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755))
			}
			cmd := exec.Command(filepath.Join(bin, "bash"), script)
			cmd.Env = []string{"PATH=" + bin, "HOME=" + dir}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "output:\n%s", out)
			require.Equal(t, 1, exit.ExitCode(), "output:\n%s", out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			require.Len(t, lines, 1, "one line, got:\n%s", out)
			require.True(t, strings.HasPrefix(lines[0], "install-deps: "), lines[0])
			for _, w := range tc.want {
				require.Contains(t, lines[0], w)
			}
			require.NotContains(t, lines[0], "must not run")
		})
	}
}
