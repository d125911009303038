package forge

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// state is everything the local GitHub knows besides the repositories' own git data: pull
// requests with their labels and comments, and commit statuses. It is one JSON file, rewritten
// atomically after every change, so a restart (or a crash) finds the last change whole.
type state struct {
	NextCommentID int64                 `json:"next_comment_id"`
	NextStatusID  int64                 `json:"next_status_id"`
	Repos         map[string]*repoState `json:"repos"` // org/repo
}

// repoState is one repository's pull requests and statuses.
type repoState struct {
	NextNumber int           `json:"next_number"`
	Pulls      map[int]*Pull `json:"pulls"`
	Statuses   []Status      `json:"statuses"` // oldest first
}

// Pull is a pull request as the local GitHub keeps it.
type Pull struct {
	Number    int        `json:"number"`
	Title     string     `json:"title"`
	Body      string     `json:"body,omitempty"`
	Author    string     `json:"author"`
	Head      string     `json:"head"` // branch
	Base      string     `json:"base"` // branch
	HeadSHA   string     `json:"head_sha"`
	BaseSHA   string     `json:"base_sha"`
	Draft     bool       `json:"draft,omitempty"`
	State     string     `json:"state"` // open or closed
	Labels    []string   `json:"labels"`
	Comments  []Comment  `json:"comments"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
}

// Comment is a comment on a pull request.
type Comment struct {
	ID        int64     `json:"id"`
	User      string    `json:"user"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Status is a commit status.
type Status struct {
	ID          int64     `json:"id"`
	SHA         string    `json:"sha"`
	State       string    `json:"state"`
	TargetURL   string    `json:"target_url,omitempty"`
	Description string    `json:"description,omitempty"`
	Context     string    `json:"context"`
	Creator     string    `json:"creator"`
	CreatedAt   time.Time `json:"created_at"`
}

// loadState reads the state file; a missing file is an empty state.
func loadState(path string) (*state, error) {
	st := &state{Repos: map[string]*repoState{}}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("%s is not the local GitHub's state (%w): move it away to start afresh", path, err)
	}
	if st.Repos == nil {
		st.Repos = map[string]*repoState{}
	}
	return st, nil
}

// save writes the state to path atomically: a temporary file in the same directory, synced, then
// renamed over the old one.
func (st *state) save(path string) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, raw, 0o600)
}

// writeAtomic replaces path with data so that a reader sees either the old file or the new one.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up after a failure
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// repo is org/repo's state, made on first use.
func (st *state) repo(orgRepo string) *repoState {
	r := st.Repos[orgRepo]
	if r == nil {
		r = &repoState{Pulls: map[int]*Pull{}}
		st.Repos[orgRepo] = r
	}
	if r.Pulls == nil {
		r.Pulls = map[int]*Pull{}
	}
	return r
}

// findComment finds a comment by ID in org/repo's pull requests.
func (r *repoState) findComment(id int64) (*Pull, int) {
	for _, p := range r.Pulls {
		if i := slices.IndexFunc(p.Comments, func(c Comment) bool { return c.ID == id }); i >= 0 {
			return p, i
		}
	}
	return nil, -1
}

// clone deep-copies a pull request, so that it can be read after the lock is released.
func (p *Pull) clone() Pull {
	c := *p
	c.Labels = slices.Clone(p.Labels)
	c.Comments = slices.Clone(p.Comments)
	return c
}
