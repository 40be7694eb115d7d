"""The network zoo: SMAUG's nine networks, exactly as shipped, plus ResNet50 (ImageNet) and MobileNet v1."""
