package deploycheck

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	ktypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/quickchat-go/quickchat/pkg/token"
)

// pemPrivateKey matches the first line of any PEM private key (PKCS #8, SEC 1, RSA,
// OpenSSH, encrypted), wherever it appears in a file.
var pemPrivateKey = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`)

// devKeyFile is the signing key an operator generates before applying the dev overlay;
// .gitignore keeps it out of the repository.
const devKeyFile = "k8s/overlays/dev/signing-keys.pem"

// Regression: issue 13 H2. docker-compose and the k8s overlays signed tokens with a key
// committed to the repository, and the gateway started on it: tokens were forged with the
// repository alone. The gateway now refuses every key on its denylist (token.Published);
// this test finds every PEM private key in the repository's files, so a key committed
// later cannot be missing from that list.
func TestEveryPrivateKeyInTheRepositoryIsOnTheGatewaysDenylist(t *testing.T) {
	repo := repoRoot(t)
	found := 0
	for _, rel := range repositoryFiles(t, repo) {
		data, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		markers := len(pemPrivateKey.FindAll(data, -1))
		if markers == 0 {
			continue
		}
		decoded := 0
		for rest := data; ; {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
				continue
			}
			decoded++
			found++
			keys, err := token.ParsePEMKeys(pem.EncodeToMemory(block))
			if err != nil {
				// Not a key the gateway can load (RSA, OpenSSH, encrypted, another curve).
				t.Logf("%s: a %s the gateway cannot sign with: %v", rel, block.Type, err)
				continue
			}
			for _, k := range keys {
				fp, err := token.Fingerprint(&k.PublicKey)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := token.Published(&k.PublicKey); !ok {
					t.Errorf("%s holds a private key (fingerprint %s) missing from the gateway's denylist: add %q to publishedKeys in pkg/token/published.go, or better, remove the key from the repository", rel, fp, fp)
				}
			}
		}
		if decoded != markers {
			t.Errorf("%s has %d private key headers but only %d decode as PEM (indented, escaped or corrupted): keep keys in plain .pem files so this check can see them", rel, markers, decoded)
		}
	}
	// The gateway's tests keep the former example key; finding it shows the walk works.
	if found == 0 {
		t.Fatal("found no private key at all, not even services/gateway/testdata/published-example-key.pem: the walk over the repository is broken")
	}
}

// TestNothingShippedTurnsOffTheKeyCheck: GATEWAY_INSECURE_DEV_KEY lets the gateway sign with
// a key everyone has. Only the gateway (which reads and tests it) and the documentation may
// name it; a deployment file, `make dev`, a CI script or a test harness that set it would
// quietly bring the forgeable stack back.
func TestNothingShippedTurnsOffTheKeyCheck(t *testing.T) {
	repo := repoRoot(t)
	for _, rel := range repositoryFiles(t, repo) {
		if strings.HasPrefix(rel, "services/gateway/") || strings.HasPrefix(rel, "docs/") || rel == "README.md" || rel == "harness/deploycheck/signingkeys_test.go" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("INSECURE_DEV_KEY")) {
			t.Errorf("%s names GATEWAY_INSECURE_DEV_KEY; only the gateway and the docs may", rel)
		}
	}
}

// repositoryFiles lists the files that are or would be committed, relative to repo and
// slash-separated: git's tracked and untracked-but-not-ignored files. Without git (an
// exported tree) every file is listed except .git and the keys made by `make dev` and
// for the dev overlay, which are generated per machine.
func repositoryFiles(t testing.TB, repo string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f == "" {
				continue
			}
			// Deleted in the working tree but still in the index: not there to check.
			if _, err := os.Lstat(filepath.Join(repo, filepath.FromSlash(f))); err == nil {
				files = append(files, f)
			}
		}
		return files
	}
	t.Logf("git ls-files: %v; walking the tree instead", err)
	var files []string
	err = filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && (rel == ".git" || rel == ".dev"):
			return filepath.SkipDir
		case d.Type().IsRegular() && rel != devKeyFile:
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Regression: issue 13 H2. Compose mounted the repository's example key and published the
// proxy on every interface.
func TestComposeGeneratesItsSigningKeyAndListensOnLoopback(t *testing.T) {
	for _, withEnv := range []bool{true, false} {
		p := loadCompose(t, withEnv)
		for _, name := range slices.Sorted(maps.Keys(p.Services)) {
			for _, port := range p.Services[name].Ports {
				if port.HostIP != "127.0.0.1" {
					t.Errorf("%s publishes %s:%s on %q by default; want 127.0.0.1 (QUICKCHAT_BIND opens it)", name, port.HostIP, port.Published, port.HostIP)
				}
			}
		}
	}

	p := loadCompose(t, true)
	gw, ok := p.Services["gateway"]
	if !ok {
		t.Fatal("no gateway service")
	}
	keyFile := composeEnv(t, gw)["GATEWAY_SIGNING_KEY_FILE"]
	if keyFile == "" {
		t.Fatal("GATEWAY_SIGNING_KEY_FILE is empty: every gateway restart would invalidate all tokens")
	}
	var keygens []string
	for name, svc := range p.Services {
		if composeProgram(p, svc) == "gateway" && slices.Equal(svc.Command, types.ShellCommand{"keygen"}) {
			keygens = append(keygens, name)
		}
	}
	if len(keygens) != 1 {
		t.Fatalf("services running `gateway keygen`: %v; want one", keygens)
	}
	kg := p.Services[keygens[0]]
	if kg.Restart != "no" {
		t.Errorf("%s restarts %q; a one-shot must not", kg.Name, kg.Restart)
	}
	if got := composeEnv(t, kg)["GATEWAY_SIGNING_KEY_FILE"]; got != keyFile {
		t.Errorf("%s writes the key to %q, the gateway reads %q", kg.Name, got, keyFile)
	}
	if d, ok := gw.DependsOn[kg.Name]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("the gateway does not wait for %s to complete successfully", kg.Name)
	}
	// Both mount one named volume on the key file's folder; only keygen may write it.
	volumeAt := func(svc types.ServiceConfig) (types.ServiceVolumeConfig, bool) {
		for _, v := range svc.Volumes {
			if v.Target == path.Dir(keyFile) {
				return v, true
			}
		}
		return types.ServiceVolumeConfig{}, false
	}
	kv, kok := volumeAt(kg)
	gv, gok := volumeAt(gw)
	switch {
	case !kok || !gok:
		t.Errorf("keygen and gateway must both mount the key's folder %s", path.Dir(keyFile))
	case kv.Type != types.VolumeTypeVolume || gv.Type != types.VolumeTypeVolume || kv.Source != gv.Source:
		t.Errorf("the key lives on %s %q for keygen and %s %q for the gateway; want one named volume", kv.Type, kv.Source, gv.Type, gv.Source)
	case kv.ReadOnly || !gv.ReadOnly:
		t.Errorf("keygen must write the key volume (read only: %v) and the gateway only read it (read only: %v)", kv.ReadOnly, gv.ReadOnly)
	}
	if v, ok := p.Volumes[kv.Source]; ok && bool(v.External) {
		t.Errorf("volume %s is external: compose must create it so the first start generates the key", kv.Source)
	}

	// No key of the repository reaches any container.
	for name, svc := range p.Services {
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind && holdsPrivateKey(t, v.Source) {
				t.Errorf("%s mounts %s, which holds a private key", name, v.Source)
			}
		}
	}
	for name, s := range p.Secrets {
		if holdsPrivateKey(t, s.File) {
			t.Errorf("secret %s is %s, which holds a private key", name, s.File)
		}
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`[\w./-]+\.pem\b`).Match(bytes.ReplaceAll(raw, []byte(keyFile), nil)) {
		t.Error("docker-compose.yml names a .pem file of the repository; the signing key is generated at first start")
	}
}

// holdsPrivateKey reports whether the file or folder at p holds a PEM private key.
func holdsPrivateKey(t testing.TB, p string) bool {
	t.Helper()
	if p == "" {
		return false
	}
	found := false
	err := filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		found = found || pemPrivateKey.Match(data)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return found
}

// Regression: issue 13 H2. The k8s base generated its signing key Secret from the
// repository's example key, and the dev overlay used it.
func TestKubernetesBaseShipsNoSigningKeyAndDevGeneratesOne(t *testing.T) {
	repo := repoRoot(t)
	var base ktypes.Kustomization
	raw, err := os.ReadFile(filepath.Join(repo, "k8s", "base", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &base); err != nil {
		t.Fatal(err)
	}
	for _, g := range base.SecretGenerator {
		if g.Name == "quickchat-signing-keys" {
			t.Errorf("k8s/base generates the signing key Secret from %v; the overlays must provide it", g.FileSources)
		}
	}
	err = filepath.WalkDir(filepath.Join(repo, "k8s"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		if filepath.ToSlash(rel) == devKeyFile {
			return nil // generated on this machine, ignored by git
		}
		data, err := os.ReadFile(p)
		if err == nil && pemPrivateKey.Match(data) {
			t.Errorf("%s holds a private key; deployment files must not ship one", rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ignored, err := os.ReadFile(filepath.Join(repo, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(ignored), "\n"), "/"+devKeyFile) {
		t.Errorf(".gitignore does not keep the dev overlay's generated key /%s out of git", devKeyFile)
	}
}

var (
	devKeyOnce sync.Once
	devKey     []byte
	devKeyErr  error
)

// devSigningKey is the key the render tests put where an operator's generated dev key
// goes: a fresh one, as `gateway keygen` writes it, the same for every render of a test
// binary so overlays built on dev agree with it.
func devSigningKey(t testing.TB) []byte {
	t.Helper()
	devKeyOnce.Do(func() {
		k, err := token.GenerateKey()
		if err != nil {
			devKeyErr = err
			return
		}
		devKey, devKeyErr = token.EncodePEMKey(k)
	})
	if devKeyErr != nil {
		t.Fatal(devKeyErr)
	}
	return devKey
}

// k8sWithDevKey returns an in-memory copy of the repository's k8s folder, at the same
// path, with devSigningKey as the dev overlay's generated key (replacing one this machine
// may have), so the overlays render as they would for an operator who followed the steps.
func k8sWithDevKey(t testing.TB) filesys.FileSystem {
	t.Helper()
	repo := repoRoot(t)
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(filepath.Join(repo, "k8s"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return mem.MkdirAll(p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(p, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.WriteFile(filepath.Join(repo, filepath.FromSlash(devKeyFile)), devSigningKey(t)); err != nil {
		t.Fatal(err)
	}
	return mem
}

// withoutRequired is s with no variable required, for a subcommand that reads only some of
// the service's configuration (`gateway keygen` reads GATEWAY_SIGNING_KEY_FILE only):
// CheckEnv still refuses variables the service does not know and values that do not parse.
func (s EnvSpec) withoutRequired() EnvSpec {
	vars := make(map[string]EnvVar, len(s.Vars))
	for name, v := range s.Vars {
		v.Required = false
		vars[name] = v
	}
	s.Vars = vars
	return s
}
