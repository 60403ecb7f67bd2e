from tfx_ext.demo import main

main()
