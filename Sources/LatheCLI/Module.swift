// LatheCLI
