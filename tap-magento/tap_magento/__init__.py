"""tap-magento: a Magento 2 / Adobe Commerce store's catalog as the contract's Singer streams."""
