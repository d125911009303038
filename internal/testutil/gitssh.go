package testutil

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSHServer serves the repository's bare repositories over SSH on loopback, as GitHub does for
// git@github.com:org/repo.git: it accepts one client key and runs git-upload-pack for the
// repository a client asks for. The SSH protocol is x/crypto/ssh's; the client is OpenSSH and the
// pack protocol is git's own, so a clone over it exercises the real client side end to end. (No
// sshd runs here: Debian's openssh-server is not on the machine, and a daemon needs root's
// configuration; an in-process server keeps the test self-contained.)
type SSHServer struct {
	// URL is the repository's ssh:// clone URL.
	URL string
	// KnownHost is the known_hosts line for the server's host key.
	KnownHost string
	// ClientKey is the path of the private key the server accepts (OpenSSH format, mode 0600).
	ClientKey string
}

// ServeSSH starts the server for the test's lifetime.
func (g *GitRepo) ServeSSH() *SSHServer {
	g.t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		g.t.Skip("skipping: no ssh client (install Debian's openssh-client)")
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		g.t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		g.t.Fatal(err)
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		g.t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(clientPriv, "test client")
	if err != nil {
		g.t.Fatal(err)
	}
	keyFile := filepath.Join(g.t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		g.t.Fatal(err)
	}
	allowed, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		g.t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if string(key.Marshal()) == string(allowed.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("key not authorized")
	}}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go g.serveSSHConn(conn, cfg)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	rel, _ := filepath.Rel(g.Root, g.bare)
	return &SSHServer{
		URL:       fmt.Sprintf("ssh://git@127.0.0.1:%d/%s", port, filepath.ToSlash(rel)),
		KnownHost: fmt.Sprintf("[127.0.0.1]:%d %s", port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostSigner.PublicKey())))),
		ClientKey: keyFile,
	}
}

func (g *GitRepo) serveSSHConn(conn net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		_ = conn.Close()
		return
	}
	defer func() { _ = sc.Close() }()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go g.serveSSHSession(ch, chReqs)
	}
}

// serveSSHSession runs the one command git asks for: git-upload-pack '<path>'.
func (g *GitRepo) serveSSHSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }()
	for req := range reqs {
		switch req.Type {
		case "env":
			_ = req.Reply(true, nil) // GIT_PROTOCOL and the like
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			verb, arg, _ := strings.Cut(payload.Command, " ")
			path := filepath.Join(g.Root, filepath.Clean("/"+strings.Trim(arg, "'")))
			if verb != "git-upload-pack" {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			cmd := exec.Command("git-upload-pack", path)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			code := 0
			if err := cmd.Run(); err != nil {
				code = 1
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				}
			}
			status := make([]byte, 4)
			binary.BigEndian.PutUint32(status, uint32(code))
			_, _ = ch.SendRequest("exit-status", false, status)
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}
