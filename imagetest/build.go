package imagetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Build builds stages of a Dockerfile on this machine, each stage in a
// directory standing for its root file system. Base images are not there:
// RUN commands run on this machine with Env in place of the base image's
// environment, so a build is faithful on a machine like the build stage's
// base image (for ours, Debian 12 with Go).
//
// The one liberty taken with the commands is that absolute paths the
// Dockerfile gives the stage (WORKDIR, COPY destinations, and the paths
// later stages copy out of it) are moved under the stage's directory, in
// RUN command lines too: RUN go build -o /out/x writes <dir>/build/out/x.
type Build struct {
	File *Dockerfile
	// Context is the build context, as CopyContext leaves it.
	Context string
	// Dir holds one directory per stage.
	Dir string
	// Args are the --build-arg values.
	Args map[string]string
	// Env is what RUN commands start from.
	Env []string
	// Log gets each RUN command and its output.
	Log io.Writer

	built map[string]*Image
}

// Image is a built stage.
type Image struct {
	Stage string
	// From is the image at the bottom of the stage's FROM chain.
	From string
	// Root is the stage's root directory on this machine.
	Root string
	// WorkDir, User, Expose and Entrypoint are as the image config has them.
	WorkDir    string
	User       string
	Expose     []string
	Entrypoint []string
	vars       *vars
}

// HostPath is where the image's path p is on this machine.
func (im *Image) HostPath(p string) string {
	return filepath.Join(im.Root, filepath.FromSlash(path.Clean("/"+p)))
}

// Env is the image's environment as set by ENV.
func (im *Image) Env() []string { return im.vars.environ(nil) }

// Command runs the image's ENTRYPOINT with args, with the image's
// environment and a PATH.
func (im *Image) Command(ctx context.Context, args ...string) (*exec.Cmd, error) {
	if len(im.Entrypoint) == 0 {
		return nil, fmt.Errorf("stage %s has no ENTRYPOINT", im.Stage)
	}
	cmd := exec.CommandContext(ctx, im.HostPath(im.Entrypoint[0]), append(im.Entrypoint[1:], args...)...)
	cmd.Env = im.vars.environ([]string{"PATH=/usr/local/bin:/usr/bin:/bin"})
	cmd.Dir = im.HostPath(im.WorkDir)
	return cmd, nil
}

// Directories a stage's paths may not be moved from: RUN commands name them
// for what the machine has there, not for what the Dockerfile put there.
var systemDirs = []string{"/", "/bin", "/dev", "/etc", "/go", "/home", "/lib", "/lib64",
	"/opt", "/proc", "/root", "/sbin", "/sys", "/tmp", "/usr", "/var"}

// Target builds the stage called name and the stages it needs.
func (b *Build) Target(ctx context.Context, name string) (*Image, error) {
	if im, ok := b.built[name]; ok {
		return im, nil
	}
	s, ok := b.File.Stage(name)
	if !ok {
		return nil, fmt.Errorf("%s: no stage %q", b.File.Path, name)
	}
	if b.built == nil {
		b.built = map[string]*Image{}
	}
	im := &Image{Stage: s.Name, Root: filepath.Join(b.Dir, s.Name), WorkDir: "/", vars: newVars()}
	if err := os.MkdirAll(im.Root, 0o755); err != nil {
		return nil, err
	}
	if parent, ok := b.File.Stage(s.Base); ok {
		p, err := b.Target(ctx, parent.Name)
		if err != nil {
			return nil, err
		}
		if err := copyTree(p.Root, im.Root); err != nil {
			return nil, err
		}
		im.From, im.WorkDir, im.User, im.Entrypoint = p.From, p.WorkDir, p.User, p.Entrypoint
		im.Expose = slices.Clone(p.Expose)
		im.vars = p.vars.clone()
	} else {
		im.From = s.Base
	}
	dirs, err := b.stageDirs(s)
	if err != nil {
		return nil, err
	}
	for _, in := range s.Instructions {
		if err := b.apply(ctx, im, dirs, in); err != nil {
			if errors.As(err, new(*stageError)) { // from a stage this one needs
				return nil, err
			}
			return nil, &stageError{file: b.File.Path, stage: s.Name, err: err}
		}
	}
	b.built[name] = im
	return im, nil
}

// stageError is the failure of a stage's instruction.
type stageError struct {
	file, stage string
	err         error
}

func (e *stageError) Error() string { return fmt.Sprintf("%s: stage %s: %v", e.file, e.stage, e.err) }
func (e *stageError) Unwrap() error { return e.err }

// stageDirs are the top-level directories of the paths the Dockerfile
// gives stage s, which its RUN commands have to find under the stage's
// directory: its WORKDIRs and COPY destinations, and the sources other
// stages COPY --from it.
func (b *Build) stageDirs(s *Stage) ([]string, error) {
	var dirs []string
	if !slices.ContainsFunc(s.Instructions, func(in Instruction) bool { return in.Command == "run" }) {
		return nil, nil // nothing to rebase
	}
	add := func(in Instruction, p string) error {
		if !path.IsAbs(p) {
			return nil
		}
		if strings.HasPrefix(p, "/$") {
			return fmt.Errorf("%s: cannot tell the directory of %s before building", in, p)
		}
		top := "/" + strings.SplitN(strings.TrimPrefix(path.Clean(p), "/"), "/", 2)[0]
		if slices.Contains(systemDirs, top) {
			return fmt.Errorf("%s: %s is a system directory; build output must go elsewhere, such as /out", in, p)
		}
		if !slices.Contains(dirs, top) {
			dirs = append(dirs, top)
		}
		return nil
	}
	for _, in := range s.Instructions {
		switch in.Command {
		case "workdir":
			if err := add(in, in.Args[0]); err != nil {
				return nil, err
			}
		case "copy":
			if err := add(in, in.Args[len(in.Args)-1]); err != nil {
				return nil, err
			}
		}
	}
	for _, other := range b.File.Stages {
		for _, in := range other.Instructions {
			if from, ok := in.Flag("from"); in.Command != "copy" || !ok || from != s.Name {
				continue
			}
			for _, src := range in.Args[:len(in.Args)-1] {
				if err := add(in, src); err != nil {
					return nil, err
				}
			}
		}
	}
	return dirs, nil
}

func (b *Build) apply(ctx context.Context, im *Image, dirs []string, in Instruction) error {
	lex := b.File.lexer()
	expand := func(w string) (string, error) {
		x, _, err := lex.ProcessWord(w, im.vars)
		if err != nil {
			return "", fmt.Errorf("%s: %w", in, err)
		}
		return x, nil
	}
	if in.Command != "copy" && in.Command != "run" && len(in.Flags) > 0 {
		return fmt.Errorf("%s: flags %v are not supported by imagetest", in, in.Flags)
	}
	switch in.Command {
	case "arg":
		return im.vars.declare(lex, in, b.Args)
	case "env":
		for _, kv := range in.EnvPairs() {
			x, err := expand(kv[1])
			if err != nil {
				return err
			}
			im.vars.set(im.vars.env, kv[0], x)
		}
	case "workdir":
		p, err := expand(in.Args[0])
		if err != nil {
			return err
		}
		if !path.IsAbs(p) {
			p = path.Join(im.WorkDir, p)
		}
		im.WorkDir = path.Clean(p)
		return os.MkdirAll(im.HostPath(im.WorkDir), 0o755)
	case "copy":
		return b.copy(ctx, im, in, expand)
	case "run":
		return b.run(ctx, im, dirs, in)
	case "user":
		u, err := expand(in.Args[0])
		im.User = u
		return err
	case "expose":
		for _, a := range in.Args {
			p, err := expand(a)
			if err != nil {
				return err
			}
			im.Expose = append(im.Expose, p)
		}
	case "entrypoint":
		if !in.JSON {
			return fmt.Errorf("%s: use the exec form: the runtime image has no shell", in)
		}
		im.Entrypoint = in.Args
	default:
		return fmt.Errorf("%s is not supported by imagetest; teach Build.apply what it does", in)
	}
	return nil
}

func (b *Build) copy(ctx context.Context, im *Image, in Instruction, expand func(string) (string, error)) error {
	srcRoot := b.Context
	for _, f := range in.Flags {
		from, ok := strings.CutPrefix(f, "--from=")
		if !ok {
			return fmt.Errorf("%s: flag %s is not supported by imagetest", in, f)
		}
		if _, isStage := b.File.Stage(from); !isStage {
			return fmt.Errorf("%s: --from=%s: copying from an image is not supported by imagetest", in, from)
		}
		src, err := b.Target(ctx, from)
		if err != nil {
			return err
		}
		srcRoot = src.Root
	}
	if len(in.Args) < 2 {
		return fmt.Errorf("%s: want sources and a destination", in)
	}
	words := make([]string, len(in.Args))
	for i, a := range in.Args {
		w, err := expand(a)
		if err != nil {
			return err
		}
		words[i] = w
	}
	dest := words[len(words)-1]
	toDir := strings.HasSuffix(dest, "/") || len(words) > 2
	if !path.IsAbs(dest) {
		dest = path.Join(im.WorkDir, dest)
	}
	for _, src := range words[:len(words)-1] {
		rel := path.Clean("/" + src) // as Docker does, a source cannot leave its root
		matches, err := filepath.Glob(filepath.Join(srcRoot, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("%s: %s: %w", in, src, err)
		}
		if len(matches) == 0 {
			return fmt.Errorf("%s: %s: no such file in the %s", in, src, map[bool]string{true: "build context", false: "stage"}[srcRoot == b.Context])
		}
		if len(matches) > 1 && !toDir {
			return fmt.Errorf("%s: %s matches %d files; the destination must end with /", in, src, len(matches))
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return err
			}
			target := im.HostPath(dest)
			switch {
			case st.IsDir(): // its contents, not the directory itself
				err = copyTree(m, target)
			case toDir:
				err = copyFile(m, filepath.Join(target, filepath.Base(m)))
			default:
				err = copyFile(m, target)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
		}
	}
	return nil
}

func (b *Build) run(ctx context.Context, im *Image, dirs []string, in Instruction) error {
	for _, f := range in.Flags {
		// A cache mount keeps files out of the image; it does not change
		// what the command makes.
		if !strings.HasPrefix(f, "--mount=type=cache,") {
			return fmt.Errorf("%s: flag %s is not supported by imagetest", in, f)
		}
	}
	var argv []string
	if in.JSON {
		for _, a := range in.Args {
			argv = append(argv, rebase(a, dirs, im.Root))
		}
	} else {
		argv = []string{"/bin/sh", "-c", rebase(strings.Join(in.Args, " "), dirs, im.Root)}
	}
	if b.Log != nil {
		fmt.Fprintf(b.Log, "# %s, in %s\n%s\n", in, im.WorkDir, strings.Join(argv, " "))
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = im.HostPath(im.WorkDir)
	cmd.Env = im.vars.environ(b.Env)
	cmd.Stdout, cmd.Stderr = b.Log, b.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s: %w", in, strings.Join(argv, " "), err)
	}
	return nil
}

// rebase moves the absolute paths in s that begin with one of dirs under
// root. A path begins where a word or an assignment's value does.
func rebase(s string, dirs []string, root string) string {
	var out strings.Builder
	for i := 0; i < len(s); {
		n := 0
		if i == 0 || strings.IndexByte(" \t\n='\":<>(|&;", s[i-1]) >= 0 {
			for _, d := range dirs {
				j := i + len(d)
				if strings.HasPrefix(s[i:], d) && (j == len(s) || strings.IndexByte("/ \t\n'\";:)|&<>", s[j]) >= 0) {
					n = len(d)
					break
				}
			}
		}
		if n > 0 {
			out.WriteString(root)
			out.WriteString(s[i : i+n])
			i += n
			continue
		}
		out.WriteByte(s[i])
		i++
	}
	return out.String()
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil
	})
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}
