module openim-policy/tests/go-textread

go 1.21
