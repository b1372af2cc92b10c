// Command testop is a real OpenID Connect provider for the console's
// browser test: zitadel/oidc's example provider (pkg/op, its in-memory
// storage and its username and password login page), run as a process of
// its own. It listens on 127.0.0.1 at a free port, prints its issuer URL
// on stdout, and serves until it is killed.
//
//	testop -users users.json -client console -secret S -redirect http://127.0.0.1:PORT/auth/callback
//
// users.json maps ids to users as zitadel's storage.StoreFromFile reads
// them: {"id1": {"ID": "id1", "Username": "ana", "Password": "...", ...}}.
// The ID token's subject is the user's ID; its preferred_username is the
// user's Username (asked with the profile scope).
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

func main() {
	users := flag.String("users", "", "the users, a JSON file")
	client := flag.String("client", "console", "the client id")
	secret := flag.String("secret", "", "the client secret")
	redirect := flag.String("redirect", "", "the client's redirect URL")
	flag.Parse()
	if *users == "" || *secret == "" || *redirect == "" {
		fmt.Fprintln(os.Stderr, "testop: -users, -secret and -redirect are required")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testop:", err)
		os.Exit(1)
	}
	issuer := fmt.Sprintf("http://%s/", ln.Addr())
	storage.RegisterClients(storage.WebClient(*client, *secret, *redirect))
	us, err := storage.StoreFromFile(*users)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testop:", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	router := exampleop.SetupServer(issuer, storage.NewStorage(us), log, false)
	fmt.Println(issuer)
	if err := http.Serve(ln, router); err != nil {
		fmt.Fprintln(os.Stderr, "testop:", err)
		os.Exit(1)
	}
}
