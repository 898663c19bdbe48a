package api

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// The web leaderboard: a page and its assets, embedded in the binary, served at "/" and
// "/web/{file}". Plain HTML, CSS and JavaScript that read the JSON API of this server:
// no build step, no external requests (the Content-Security-Policy forbids them).
//
//go:embed web/index.html web/app.js web/chart.js web/style.css
var webFiles embed.FS

// webAsset is one embedded file, ready to answer.
type webAsset struct {
	body        []byte
	contentType string
	etag        string
}

// webCSP allows the page this server's own scripts, styles and API only.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// loadWebAssets reads the embedded files by name ("index.html", "app.js", ...).
func loadWebAssets() map[string]webAsset {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
	}
	out := map[string]webAsset{}
	err := fs.WalkDir(webFiles, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct, ok := types[path.Ext(p)]
		if !ok {
			panic("BUG: embedded web file " + p + " has no content type")
		}
		out[strings.TrimPrefix(p, "web/")] = webAsset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("BUG: cannot read the embedded web files: " + err.Error())
	}
	return out
}

// webRoutes are the routes of the web leaderboard: its page, its assets, the entry
// history its chart draws (history.go) and the entry search by id (findentry.go).
func (s *Server) webRoutes() []*route {
	assets := loadWebAssets()
	serve := func(ctx *fasthttp.RequestCtx, name string) {
		a, ok := assets[name]
		if !ok {
			writeError(ctx, &httpError{fasthttp.StatusNotFound, "no such file: " + quote(name)})
			return
		}
		h := &ctx.Response.Header
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache") // revalidate: a new binary may serve new files
		h.Set("X-Content-Type-Options", "nosniff")
		if name == "index.html" {
			h.Set("Content-Security-Policy", webCSP)
			h.Set("Referrer-Policy", "no-referrer")
		}
		if string(ctx.Request.Header.Peek("If-None-Match")) == a.etag {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType(a.contentType)
		ctx.SetBody(a.body)
	}
	return []*route{
		plainRoute("GET /", func(ctx *fasthttp.RequestCtx) { serve(ctx, "index.html") }),
		plainRoute("GET /web/{file}", func(ctx *fasthttp.RequestCtx) {
			p := string(ctx.Path())
			serve(ctx, p[strings.LastIndexByte(p, '/')+1:])
		}),
		s.jsonRoute("GET /v1/contests/{contest_id}/entries/{entry_id}/history", s.history),
		newRoute("GET /v1/entries/{entry_id}", s.entryByID),
	}
}
