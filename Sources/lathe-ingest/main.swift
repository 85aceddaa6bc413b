import LatheCLI

PendingStage.main("lathe-ingest")
