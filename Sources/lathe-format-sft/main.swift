import LatheCLI

PendingStage.main("lathe-format-sft")
