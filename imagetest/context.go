package imagetest

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// CopyContext copies into dst the files of src that docker build sends as
// the build context: all but those src/.dockerignore excludes, matched
// with the module Docker itself matches them with.
func CopyContext(src, dst string) error {
	pm, err := readIgnore(filepath.Join(src, ".dockerignore"))
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		slash := filepath.ToSlash(rel)
		ignored, err := pm.MatchesOrParentMatches(slash)
		if err != nil {
			return fmt.Errorf(".dockerignore: %s: %w", slash, err)
		}
		if ignored {
			if d.IsDir() && !mayInclude(pm, slash) {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil // sockets and the like are not sent
	})
}

func readIgnore(file string) (*patternmatcher.PatternMatcher, error) {
	var patterns []string
	f, err := os.Open(file)
	switch {
	case err == nil:
		defer f.Close()
		if patterns, err = ignorefile.ReadAll(f); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	case !os.IsNotExist(err):
		return nil, err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return pm, nil
}

// mayInclude says whether an exclusion pattern ("!...") could let in
// something below the ignored directory dir, so that the walk must go in.
func mayInclude(pm *patternmatcher.PatternMatcher, dir string) bool {
	elems := strings.Split(dir, "/")
	for _, p := range pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		pat := strings.Split(filepath.ToSlash(p.String()), "/")
		could := true
		for i, e := range elems {
			if i >= len(pat) || pat[i] == "**" {
				break
			}
			if ok, _ := path.Match(pat[i], e); !ok {
				could = false
				break
			}
		}
		if could {
			return true
		}
	}
	return false
}
