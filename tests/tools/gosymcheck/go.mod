module example.com/gosymcheck

go 1.24
