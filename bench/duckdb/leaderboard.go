package duckbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MainModule is the module path of the project whose binary is checked.
const MainModule = "github.com/fantasy/leaderboard"

// LeaderboardPkg is the package of the `leaderboard` command.
const LeaderboardPkg = MainModule + "/cmd/leaderboard"

// FindRepoRoot walks up from dir to the directory whose go.mod declares
// MainModule.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == MainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod for module %s above the current directory", MainModule)
		}
		dir = parent
	}
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New("no module line")
}

// ErrNoLeaderboardPackage reports that cmd/leaderboard does not exist (yet),
// as opposed to existing and failing to compile.
var ErrNoLeaderboardPackage = errors.New("package cmd/leaderboard does not exist")

// BuildLeaderboard runs `go build -o <outDir>/leaderboard ./cmd/leaderboard`
// in the repository root and returns the binary's path. When the build fails
// because the package is missing (no directory, or no Go files in it) the
// error wraps ErrNoLeaderboardPackage.
func BuildLeaderboard(ctx context.Context, repoRoot, outDir string) (string, error) {
	bin := filepath.Join(outDir, "leaderboard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, LeaderboardPkg)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err == nil {
		return bin, nil
	}
	msg := string(out)
	// Only messages about cmd/leaderboard itself count as "missing"; a missing
	// dependency of it is a real build failure.
	dir := filepath.Join(repoRoot, "cmd", "leaderboard")
	missing := false
	for _, s := range []string{
		"no required module provides package " + LeaderboardPkg + ";",
		"no Go files in " + dir + "\n",
		"build constraints exclude all Go files in " + dir + "\n",
		"cannot find package \"" + LeaderboardPkg + "\"",
		"package " + LeaderboardPkg + " is not in std",
		"directory " + dir + " does not exist",
	} {
		if strings.Contains(msg+"\n", s) {
			missing = true
		}
	}
	if missing {
		return "", fmt.Errorf("%w: go build %s: %v\n%s", ErrNoLeaderboardPackage, LeaderboardPkg, err, msg)
	}
	return "", fmt.Errorf("go build %s: %v\n%s", LeaderboardPkg, err, msg)
}

// RankCommand is the `leaderboard rank` invocation for a dataset.
func RankCommand(ctx context.Context, bin, inDir, outFile string) *exec.Cmd {
	return exec.CommandContext(ctx, bin, "rank", "--in", inDir, "--out", outFile)
}
